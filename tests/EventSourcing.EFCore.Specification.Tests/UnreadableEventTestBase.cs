using System.Text.Json;
using EventSourcing.EFCore.Storage;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// A stored row that cannot become an event (unknown type name, JSON that does not fit, a constructor that throws)
/// raises <see cref="EventDeserializationException"/> naming stream, version, global position and stored type name,
/// with the underlying error inside, on every read path.
/// </summary>
public abstract class UnreadableEventTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    public enum Unreadable
    {
        UnknownTypeName,
        JsonThatDoesNotFit,
        ConstructorThrows,
    }

    public enum ReadPath
    {
        ReadStream,
        ReadAll,
        AggregateLoad,
        LiveFold,
        CatchUpProjection,
    }

    [Test]
    public virtual async Task An_unreadable_row_raises_EventDeserializationException_on_every_read_path([Values] Unreadable kind, [Values] ReadPath path)
    {
        var id = Guid.NewGuid();
        var stream = StreamId.For<BankAccount>(id);
        await using (var db = CreateContext())
        {
            db.Aggregates<BankAccount>().Add(BankAccount.Open(id, "Ada"));
            await db.SaveChangesAsync();
        }

        var (type, payload) = kind switch
        {
            Unreadable.UnknownTypeName => ("test.deleted-long-ago", """{"amount":1}"""),
            Unreadable.JsonThatDoesNotFit => ("test.deposited", """{"amount":"twelve"}"""),
            _ => ("test.guarded", """{"value":-1}"""),
        };
        var position = await InsertRawAsync(stream, 2, type, payload);

        await using var read = CreateContext(es => es.AddProjection<TestDbContext>("everything", p => p.On<object>((_, _, _) => { })));
        Func<Task> call = path switch
        {
            ReadPath.ReadStream => () => ToListAsync(read.Events().ReadStreamAsync(stream)),
            ReadPath.ReadAll => () => ToListAsync(read.Events().ReadAllAsync(GlobalCheckpoint.Start)),
            ReadPath.AggregateLoad => () => read.Aggregates<BankAccount>().LoadAsync(id),
            ReadPath.LiveFold => () => read.Events().AggregateStreamAsync(stream, 0, (n, _) => n + 1),
            _ => () => read.Projections().CatchUpAsync("everything"),
        };

        if (path == ReadPath.CatchUpProjection && kind == Unreadable.UnknownTypeName)
        {
            // A projection reads only the registered types it handles: a type name no type has is never read.
            Assert.That(await read.Projections().CatchUpAsync("everything"), Is.EqualTo(1));
            return;
        }

        var thrown = Assert.CatchAsync(() => call())!;
        if (path == ReadPath.CatchUpProjection)
        {
            Assert.That(thrown, Is.TypeOf<ProjectionFailedException>());
            Assert.That(((ProjectionFailedException)thrown).GlobalPosition, Is.EqualTo(position));
            thrown = thrown.InnerException!;
        }

        Assert.That(thrown, Is.TypeOf<EventDeserializationException>());
        var error = (EventDeserializationException)thrown;
        Assert.That(error.StreamId, Is.EqualTo(stream));
        Assert.That(error.Version, Is.EqualTo(2));
        Assert.That(error.GlobalPosition, Is.EqualTo(position));
        Assert.That(error.EventType, Is.EqualTo(type));
        Assert.That(error.Message, Does.Contain(stream.ToString()).And.Contain(type).And.Contain(position.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(error.InnerException, kind switch
        {
            Unreadable.UnknownTypeName => Is.TypeOf<UnknownEventTypeException>(),
            Unreadable.JsonThatDoesNotFit => Is.InstanceOf<JsonException>(),
            _ => Is.Not.InstanceOf<JsonException>().And.Not.Null,
        });
    }

    [Test]
    public virtual async Task Metadata_that_is_not_a_flat_string_map_raises_EventDeserializationException_on_read_all_and_read_stream([Values] bool readAll)
    {
        var stream = NewStream();
        var position = await InsertRawAsync(stream, 1, "test.deposited", """{"amount":1}""", metadata: """{"nested":{"a":1}}""");
        await using var read = CreateContext();
        var error = Assert.ThrowsAsync<EventDeserializationException>(() => readAll
            ? ToListAsync(read.Events().ReadAllAsync(GlobalCheckpoint.Start))
            : ToListAsync(read.Events().ReadStreamAsync(stream)))!;
        Assert.That((error.StreamId, error.Version, error.GlobalPosition, error.EventType), Is.EqualTo((stream, 1L, position, "test.deposited")));
        Assert.That(error.Message, Does.Contain("metadata"));
        Assert.That(error.InnerException, Is.InstanceOf<JsonException>());
    }

    [Test]
    public virtual async Task Read_all_yields_every_event_before_an_unreadable_row_then_throws_and_the_context_is_usable_between_events()
    {
        var seed = Random.Shared.Next();
        await TestContext.Out.WriteLineAsync($"seed {seed}");
        var random = new Random(seed);
        // Other tests' events may come first: read them now, they must come back first and unchanged.
        var before = new List<long>();
        await using (var seedContext = CreateContext())
        {
            await foreach (var e in seedContext.Events().ReadAllAsync(GlobalCheckpoint.Start))
            {
                before.Add(e.GlobalPosition);
            }
        }

        var stream = NewStream();
        var readable = random.Next(0, 40);
        await using (var db = CreateContext())
        {
            for (var i = 1; i <= readable; i++)
            {
                db.Events().Append(stream, ExpectedVersion.Exactly(i - 1), new Deposited(i));
                await db.SaveChangesAsync();
            }
        }

        var bad = await InsertRawAsync(stream, readable + 1, "test.deposited", """{"amount":"twelve"}""");
        await using (var db = CreateContext())
        {
            db.Events().Append(stream, ExpectedVersion.Exactly(readable + 1), new Deposited(1));
            await db.SaveChangesAsync();
        }

        var batchSize = random.Next(1, 60);
        await using var read = CreateContext();
        var seen = new List<RecordedEvent>();
        var error = Assert.ThrowsAsync<EventDeserializationException>(async () =>
        {
            await foreach (var e in read.Events().ReadAllAsync(GlobalCheckpoint.Start, batchSize))
            {
                seen.Add(e);

                // The caller may use the same context while iterating: no reader is left open between events.
                Assert.That(await read.Events().GetStreamVersionAsync(stream), Is.EqualTo(readable + 2));
            }
        })!;
        Assert.That(error.GlobalPosition, Is.EqualTo(bad), $"seed {seed}, batch size {batchSize}");
        Assert.That(seen.Select(e => e.GlobalPosition).Take(before.Count), Is.EqualTo(before));
        var mine = seen.Skip(before.Count).ToList();
        Assert.That(mine.Select(e => e.Version), Is.EqualTo(Enumerable.Range(1, readable).Select(v => (long)v)), $"seed {seed}: every event before the unreadable one, once, in order");
        Assert.That(mine.Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(Enumerable.Range(1, readable).Select(v => (decimal)v)));
    }

    /// <summary>Writes a row directly through EF (bypassing the library), as corrupt or foreign data would arrive; returns its position.</summary>
    protected async Task<long> InsertRawAsync(StreamId stream, long sequence, string eventType, string payload, string? metadata = null)
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
            Metadata = metadata,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        db.Set<StoredEvent>().Add(row);
        await db.SaveChangesAsync();
        return row.GlobalPosition;
    }
}
