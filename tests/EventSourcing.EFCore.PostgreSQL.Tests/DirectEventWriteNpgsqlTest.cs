using System.Data.Common;
using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: a save that appends events and changes nothing else writes its rows with one command of its own
/// (no event row is tracked by EF), and every configuration where that could differ from EF's own pipeline takes EF's
/// pipeline instead: other changes, a user transaction (EF's savepoint), a user SaveChanges or command interceptor.
/// A transient failure of the direct write is retried by the context's execution strategy, as EF retries its batch.
/// </summary>
public sealed class DirectEventWriteNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task An_event_only_save_tracks_no_row_and_a_save_with_other_changes_tracks_one([Values] bool async)
    {
        var first = NewStream();
        var second = NewStream();
        await using var db = CreateContext();
        var tracked = CountTrackedEventRows(db);
        db.Events().Append(first, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
        db.Events().Append(second, ExpectedVersion.NoStream, new Deposited(3));
        Assert.That(await SaveAsync(db, async), Is.EqualTo(3));
        Assert.That(tracked.Count, Is.Zero, "written directly");

        db.Events().Append(first, ExpectedVersion.Exactly(2), new Deposited(4));
        db.Customers.Add(new Customer { Name = "with", Email = Guid.NewGuid() + "@example.com" });
        Assert.That(await SaveAsync(db, async), Is.EqualTo(2));
        Assert.That(tracked.Count, Is.EqualTo(1), "another change: EF's pipeline with one carrier row");
        Assert.That(db.ChangeTracker.Entries<StoredEvent>(), Is.Empty);

        var all = await ReadAllAsync();
        Assert.That(all.Where(e => e.StreamId == first).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(all.Where(e => e.StreamId == first).Select(e => e.GlobalPosition), Is.Ordered.Ascending);
        Assert.That(all.Where(e => e.StreamId == second).Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(new decimal[] { 3 }));
    }

    [Test]
    public async Task Events_of_one_stream_send_its_type_id_and_first_version_once_and_events_of_several_streams_per_row([Values] bool async)
    {
        var first = NewStream();
        var second = NewStream();
        await using var db = CreateContext();
        await db.Database.OpenConnectionAsync();
        using var recorder = new NpgsqlCommandRecorder(nameof(DirectEventWriteNpgsqlTest));

        async Task<string> SaveRecordedAsync(int expected)
        {
            var sent = await recorder.RecordAsync(async () => Assert.That(await SaveAsync(db, async), Is.EqualTo(expected)));
            Assert.That(sent, Has.Count.EqualTo(1), string.Join("\n---\n", sent));
            return sent[0];
        }

        db.Events().Append(first, ExpectedVersion.NoStream, new Deposited(1));
        Assert.That(await SaveRecordedAsync(1), Does.Contain("VALUES").And.Not.Contain("unnest"), "one event");

        db.Events().Append(first, ExpectedVersion.Exactly(1), new Deposited(2), new Deposited(3));
        db.Events().Append(first, ExpectedVersion.Exactly(3), new Deposited(4));
        Assert.That(await SaveRecordedAsync(3), Does.Contain("$3 + (o - 1)"), "one stream, two appends: sent once");

        db.Events().Append(first, ExpectedVersion.Exactly(4), new Deposited(5));
        db.Events().Append(second, ExpectedVersion.NoStream, new Deposited(6), new Deposited(7));
        Assert.That(await SaveRecordedAsync(3), Does.Contain("unnest").And.Not.Contain("$3 + (o - 1)"), "two streams: per row");

        var all = await ReadAllAsync();
        Assert.That(all.Where(e => e.StreamId == first).Select(e => (e.Version, ((Deposited)e.Data).Amount)), Is.EqualTo(new[] { (1L, 1m), (2L, 2m), (3L, 3m), (4L, 4m), (5L, 5m) }));
        Assert.That(all.Where(e => e.StreamId == first).Select(e => e.GlobalPosition), Is.Ordered.Ascending);
        Assert.That(all.Where(e => e.StreamId == second).Select(e => (e.Version, ((Deposited)e.Data).Amount)), Is.EqualTo(new[] { (1L, 6m), (2L, 7m) }));
    }

    [Test]
    public async Task A_user_save_or_command_interceptor_sends_an_event_only_save_through_EFs_pipeline([Values] bool async, [Values] bool commandInterceptor)
    {
        var stream = NewStream();
        var builder = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions());
        builder.AddInterceptors(commandInterceptor ? new NoOpCommandInterceptor() : new NoOpSaveChangesInterceptor());
        await using var db = new TestDbContext(builder.Options);
        var tracked = CountTrackedEventRows(db);
        db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1));
        await SaveAsync(db, async);
        Assert.That(tracked.Count, Is.EqualTo(1), "the user's interceptor sees the save's command and outcome");
        Assert.That((await ReadStreamAsync(stream)).Select(e => e.Version), Is.EqualTo(new long[] { 1 }));
    }

    [Test]
    public async Task An_event_only_save_in_a_user_transaction_goes_through_EFs_pipeline_and_a_conflict_keeps_the_transaction([Values] bool async)
    {
        var stream = NewStream();
        var other = NewStream();
        await SeedAsync(stream, 1);
        await using var db = CreateContext();
        var tracked = CountTrackedEventRows(db);
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1));
            Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
            Assert.That(tracked.Count, Is.EqualTo(1), "EF's pipeline, inside its savepoint");
            db.Events().ClearStaged();
            db.Events().Append(other, ExpectedVersion.NoStream, new Deposited(2));
            await SaveAsync(db, async);
            await transaction.CommitAsync();
        }

        Assert.That((await ReadStreamAsync(other)).Select(e => e.Version), Is.EqualTo(new long[] { 1 }), "the transaction stayed usable");
        Assert.That(await ReadStreamAsync(stream), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_transient_failure_of_the_direct_write_is_retried_by_the_execution_strategy([Values] bool async)
    {
        var stream = NewStream();
        var failures = new FailingOpens();
        var builder = new DbContextOptionsBuilder<TestDbContext>();
        builder.UseNpgsql(Fixture.ConnectionString, o => o.EnableRetryOnFailure(3, TimeSpan.FromMilliseconds(10), null));
        builder.AddInterceptors(failures);
        builder.UseEventSourcing(es => es.AddEvents(typeof(TestDbContext).Assembly).UsePostgreSql());
        await using (var db = new TestDbContext(builder.Options))
        {
            var tracked = CountTrackedEventRows(db);
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            failures.Remaining = 2;
            Assert.That(await SaveAsync(db, async), Is.EqualTo(2));
            Assert.That(failures.Injected, Is.EqualTo(2));
            Assert.That(tracked.Count, Is.Zero, "written directly, under the strategy");
            Assert.That(await SaveAsync(db, async), Is.Zero);
        }

        Assert.That((await ReadStreamAsync(stream)).Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(new decimal[] { 1, 2 }));
    }

    private static TrackedCount CountTrackedEventRows(DbContext db)
    {
        var count = new TrackedCount();
        db.ChangeTracker.Tracked += (_, e) => count.Add(e);
        db.ChangeTracker.StateChanged += (_, e) => count.Add(e);
        return count;
    }

    private sealed class TrackedCount
    {
        public int Count { get; private set; }

        public void Add(EntityEntryEventArgs e)
        {
            if (e.Entry.Entity is StoredEvent && e is EntityTrackedEventArgs)
            {
                Count++;
            }
        }
    }

    private sealed class NoOpSaveChangesInterceptor : SaveChangesInterceptor;

    private sealed class NoOpCommandInterceptor : DbCommandInterceptor;

    /// <summary>Fails the next <see cref="Remaining"/> connection opens with a transient Npgsql error.</summary>
    private sealed class FailingOpens : DbConnectionInterceptor
    {
        public int Remaining { get; set; }

        public int Injected { get; private set; }

        public override InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
        {
            Fail();
            return result;
        }

        public override ValueTask<InterceptionResult> ConnectionOpeningAsync(
            DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
        {
            Fail();
            return ValueTask.FromResult(result);
        }

        private void Fail()
        {
            if (Remaining > 0)
            {
                Remaining--;
                Injected++;
                throw new NpgsqlException("injected transient failure", new System.IO.IOException("injected"));
            }
        }
    }
}
