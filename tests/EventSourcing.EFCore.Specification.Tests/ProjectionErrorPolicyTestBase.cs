using System.Runtime.CompilerServices;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// A catch-up projection never stops for an event it does not handle (such rows are not even read), and under
/// <see cref="ProjectionErrorPolicy.DeadLetter"/> an event it handles but fails on is recorded and replayable.
/// </summary>
public abstract class ProjectionErrorPolicyTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    [Test]
    public virtual async Task Rows_of_types_a_projection_does_not_handle_are_passed_without_being_read()
    {
        var stream = NewStream();
        await SeedAsync(stream, 3);
        await InsertRawAsync(NewStream("foreign"), 1, "other-service.thing-happened", """{"x":1}"""); // no type has this name
        await InsertRawAsync(NewStream("broken"), 1, "test.renamed", "\"not an object\""); // registered, unreadable, not handled
        await using (var db = CreateContext())
        {
            await db.Events().AppendAsync(NewStream(), ExpectedVersion.NoStream, Enumerable.Range(0, 600).Select(i => (object)new Renamed("n" + i)));
        }

        await SeedAsync(stream, 1, ExpectedVersion.Exactly(3));
        long last;
        await using (var db = CreateContext())
        {
            last = await db.Set<StoredEvent>().MaxAsync(e => e.GlobalPosition);
        }

        await using (var db = CreateContext(es => es.AddProjection<BalanceProjection>()))
        {
            Assert.That(await db.Projections().CatchUpAsync("balances"), Is.EqualTo(4), "only the Deposited events were read");
            var lag = await db.Projections().GetLagAsync("balances");
            Assert.That(lag.IsCaughtUp, Is.True);
            Assert.That(lag.Checkpoint.Position, Is.EqualTo(last), "the checkpoint passed the other rows");
            Assert.That(await db.Projections().CatchUpAsync("balances"), Is.Zero);
        }

        Assert.That(await BalanceAsync(stream), Is.EqualTo(1m + 2 + 3 + 1));
    }

    [Test]
    public virtual async Task Under_DeadLetter_failing_events_are_recorded_with_their_error_and_the_projection_carries_on()
    {
        var stream = NewStream();
        await SeedAsync(stream, 4); // Deposited 1..4
        var unreadable = await InsertRawAsync(stream, 5, "test.deposited", """{"amount":"lots"}""");
        await SeedAsync(stream, 2, ExpectedVersion.Exactly(5)); // Deposited 1..2 at versions 6..7
        var fixedHandler = new StrongBox<bool>(false);
        var log = new List<(EventId Id, string Message)>();
        Action<EventSourcingDbContextOptionsBuilder> configure = es => es.AddProjection<TestDbContext>("picky", p => p
            .OnError(ProjectionErrorPolicy.DeadLetter)
            .On<Deposited>((db, e, envelope) =>
            {
                db.Add(new LedgerRow { Projection = "picky", Stream = envelope.StreamId.ToString(), Version = envelope.Version, EventId = envelope.EventId });
                if (e.Amount == 3 && !fixedHandler.Value)
                {
                    throw new FormatException("three is not allowed");
                }
            }));

        await using (var db = CreateLoggingContext(configure, log))
        {
            Assert.That(await db.Projections().CatchUpAsync("picky"), Is.EqualTo(7), "every handled event passed, two of them dead-lettered");
            var lag = await db.Projections().GetLagAsync("picky");
            Assert.That(lag.IsCaughtUp, Is.True);
            Assert.That(lag.DeadLetters, Is.EqualTo(2));
        }

        Assert.That(await LedgerVersionsAsync("picky"), Is.EqualTo(new long[] { 1, 2, 4, 6, 7 }), "the failing event's own changes were discarded");
        var letters = await DeadLettersAsync("picky");
        Assert.That(letters.Select(l => (l.Version, l.ErrorType)), Is.EqualTo(new[]
        {
            (3L, typeof(FormatException).FullName),
            (5L, typeof(EventDeserializationException).FullName),
        }));
        Assert.That(letters[0].Error, Does.Contain("three is not allowed"));
        Assert.That(letters[1].GlobalPosition, Is.EqualTo(unreadable));
        Assert.That(letters.Select(l => (l.StreamType, l.StreamId, l.EventType, l.Attempts)), Is.All.EqualTo((stream.Type, stream.Id, "test.deposited", 1)));
        Assert.That(log.Count(l => l.Id == EventSourcingEventId.ProjectionEventDeadLettered), Is.EqualTo(2), "each skip is logged as a warning");

        fixedHandler.Value = true;
        await using (var db = CreateContext(configure))
        {
            Assert.That(await db.Projections().ReplayDeadLettersAsync("picky"), Is.EqualTo(1), "the fixed handler's event applied; the unreadable one still fails");
            Assert.That((await db.Projections().GetLagAsync("picky")).DeadLetters, Is.EqualTo(1));
        }

        Assert.That(await LedgerVersionsAsync("picky"), Is.EqualTo(new long[] { 1, 2, 3, 4, 6, 7 }));
        var remaining = (await DeadLettersAsync("picky")).Single();
        Assert.That((remaining.Version, remaining.Attempts), Is.EqualTo((5L, 2)));
    }

    [Test]
    public virtual async Task Under_the_default_Stop_policy_an_unreadable_handled_event_stops_the_projection_before_it()
    {
        var stream = NewStream();
        await SeedAsync(stream, 2);
        var unreadable = await InsertRawAsync(stream, 3, "test.deposited", "[]");
        await using var db = CreateContext(es => es.AddProjection<BalanceProjection>());
        var error = Assert.ThrowsAsync<ProjectionFailedException>(() => db.Projections().CatchUpAsync("balances"))!;
        Assert.That(error.GlobalPosition, Is.EqualTo(unreadable));
        Assert.That(error.InnerException, Is.TypeOf<EventDeserializationException>());
        Assert.That((await db.Projections().GetLagAsync("balances")).Checkpoint, Is.EqualTo(GlobalCheckpoint.Start), "nothing of the batch was saved");
        Assert.That(await DeadLettersAsync("balances"), Is.Empty);
    }

    [Test]
    public virtual async Task RebaseCheckpointAsync_moves_the_checkpoint_after_the_event_at_a_position_and_catch_up_resumes_there()
    {
        var stream = NewStream();
        await SeedAsync(stream, 5); // Deposited 1..5
        var events = await ReadAllAsync();
        await using (var db = CreateContext(es => es.AddProjection<BalanceProjection>()))
        {
            var checkpoint = await db.Projections().RebaseCheckpointAsync("balances", events[2].GlobalPosition);
            Assert.That(checkpoint, Is.EqualTo(events[2].Checkpoint), "the event's own (transaction id, position)");
            Assert.That((await db.Projections().GetLagAsync("balances")).EventsBehind, Is.EqualTo(2));
            Assert.That(await db.Projections().CatchUpAsync("balances"), Is.EqualTo(2), "only the events after the position");
            Assert.That(() => db.Projections().RebaseCheckpointAsync("balances", events[^1].GlobalPosition + 1000), Throws.InvalidOperationException);
            Assert.That(await db.Projections().RebaseCheckpointAsync("balances", 0), Is.EqualTo(GlobalCheckpoint.Start));
        }

        Assert.That(await BalanceAsync(stream), Is.EqualTo(4m + 5m));
    }

    private async Task<long> InsertRawAsync(StreamId stream, long sequence, string eventType, string payload)
    {
        await using var db = CreateContext();
        var row = new StoredEvent
        {
            StreamType = stream.Type,
            StreamId = stream.Id,
            Sequence = sequence,
            EventId = Guid.NewGuid(),
            EventType = eventType,
            EventVersion = 1,
            Payload = payload,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        db.Set<StoredEvent>().Add(row);
        await db.SaveChangesAsync();
        return row.GlobalPosition;
    }

    private async Task<decimal> BalanceAsync(StreamId stream)
    {
        await using var db = CreateContext();
        return (await db.Set<AccountBalance>().SingleAsync(b => b.Projection == "balances" && b.Stream == stream.ToString())).Balance;
    }

    private async Task<long[]> LedgerVersionsAsync(string projection)
    {
        await using var db = CreateContext();
        return await db.Set<LedgerRow>().Where(r => r.Projection == projection).OrderBy(r => r.Version).Select(r => r.Version).ToArrayAsync();
    }

    private async Task<List<ProjectionDeadLetter>> DeadLettersAsync(string projection)
    {
        await using var db = CreateContext();
        return await db.Set<ProjectionDeadLetter>().Where(d => d.Projection == projection).OrderBy(d => d.GlobalPosition).ToListAsync();
    }

    private TestDbContext CreateLoggingContext(Action<EventSourcingDbContextOptionsBuilder> configure, List<(EventId Id, string Message)> log)
    {
        var builder = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions(configure));
        builder.UseLoggerFactory(new CapturingLoggerFactory(log));
        return new TestDbContext(builder.Options);
    }
}
