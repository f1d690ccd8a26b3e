using System.Diagnostics;
using System.Globalization;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// Leased dispatch on PostgreSQL: no transaction (and so no transaction id) is open while the user's publisher runs, so a
/// slow publisher neither trips <c>idle_in_transaction_session_timeout</c> nor holds read-all back; a dispatcher process
/// killed with SIGKILL mid-publish leaves its messages to another dispatcher once the lease expires, with the lost
/// attempt counted, re-publishes counted, and a message that keeps killing its dispatcher ends a dead letter.
/// </summary>
public sealed class OutboxLeaseNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    private async Task<Guid[]> SeedOutboxAsync(StreamId stream, int count)
    {
        await using var db = CreateContext(es => es.UseOutbox(o => o.PublishAll("events")));
        var events = Enumerable.Range(1, count).Select(i => new EventData(new Deposited(i)) { EventId = Guid.CreateVersion7() }).ToArray();
        await db.Events().AppendAsync(stream, ExpectedVersion.Any, events);
        return events.Select(e => e.EventId!.Value).ToArray();
    }

    private async Task<List<StoredOutboxMessage>> RowsAsync()
    {
        await using var db = CreateContext();
        return await db.Set<StoredOutboxMessage>().AsNoTracking().OrderBy(o => o.Id).ToListAsync();
    }

    private async Task<T> AdminScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    [Test]
    public async Task A_publisher_slower_than_the_lease_and_the_idle_transaction_timeout_runs_with_no_transaction_open_and_ends_a_dead_letter()
    {
        var stream = NewStream();
        var ids = await SeedOutboxAsync(stream, 1);
        var applicationName = "outbox-slow-" + Guid.NewGuid().ToString("N")[..8];
        var connection = new NpgsqlConnectionStringBuilder(Fixture.ConnectionString)
        {
            ApplicationName = applicationName,
            Options = "-c idle_in_transaction_session_timeout=300",
        }.ConnectionString;
        var options = new DbContextOptionsBuilder<TestDbContext>().UseNpgsql(connection);
        options.UseEventSourcing(es => es.AddEvents(typeof(TestDbContext).Assembly).UsePostgreSql()
            .UseOutbox(o => o.PublishAll("events").MaxAttempts(2).RetryBackoff(TimeSpan.Zero, TimeSpan.Zero).LeaseFor(TimeSpan.FromSeconds(1.5)).PublishTimeout(TimeSpan.FromSeconds(1))));

        // 2.5 s per publish, ignoring its token: longer than the lease (1.5 s) and than the idle-in-transaction timeout (0.3 s).
        var sessions = new List<(string State, bool HasTransactionId)>();
        var calls = 0;
        var completedLate = 0;
        var publisher = new DelegatePublisher(async (_, _) =>
        {
            Interlocked.Increment(ref calls);
            await Task.Delay(400, CancellationToken.None);
            sessions.Add(await SessionStateAsync(applicationName));
            await Task.Delay(2100, CancellationToken.None);
            Interlocked.Increment(ref completedLate);
        });

        var elapsed = Stopwatch.StartNew();
        await using (var db = new TestDbContext(options.Options))
        {
            Assert.That(await db.Outbox().DispatchPendingAsync(publisher), Is.Zero, "no NpgsqlException: no transaction was open to time out");
        }

        Assert.That(calls, Is.EqualTo(2), "MaxAttempts publishes, no more");
        Assert.That(elapsed.Elapsed, Is.LessThan(TimeSpan.FromSeconds(4.5)), "each attempt abandoned at the publish timeout (2 x 1 s), not waited for (2 x 2.5 s)");
        Assert.That(sessions, Has.Count.EqualTo(2));
        Assert.That(sessions, Has.All.EqualTo(("idle", false)), "during each publish the dispatcher's session is idle, outside any transaction, without a transaction id");
        var row = (await RowsAsync()).Single();
        Assert.That((row.EventId, row.Attempts, row.DeadLetteredAt is not null, row.LeaseOwner), Is.EqualTo((ids[0], 2, true, (string?)null)));
        Assert.That(row.LastError, Does.Contain("TimeoutException"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Volatile.Read(ref completedLate) < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        TestContext.Out.WriteLine($"abandoned publishes that completed after their timeout: {completedLate} (at-least-once: the broker may still take them)");
    }

    [Test]
    public async Task Read_all_is_not_held_back_while_a_publish_runs()
    {
        await SeedOutboxAsync(NewStream(), 1);
        await using (var warmUp = CreateContext(es => es.AddProjection<BalanceProjection>()))
        {
            Assert.That(await warmUp.Projections().CatchUpAsync("balances"), Is.EqualTo(1), "caught up (and warmed up) before the publish starts");
        }

        var publishing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var publisher = new DelegatePublisher(async (_, ct) =>
        {
            publishing.TrySetResult();
            await Task.Delay(TimeSpan.FromSeconds(5), ct);
        });
        Task<int> dispatch;
        var dispatcher = CreateContext(es => es.UseOutbox(o => o.PublishAll("events").PublishTimeout(TimeSpan.FromSeconds(10)).LeaseFor(TimeSpan.FromSeconds(30))));
        await using (dispatcher)
        {
            dispatch = dispatcher.Outbox().DispatchPendingAsync(publisher);
            await publishing.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var started = Stopwatch.StartNew();

            var stream = NewStream();
            await using (var db = CreateContext())
            {
                db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(42));
                await db.SaveChangesAsync();
            }

            var committed = started.Elapsed;
            TimeSpan? applied = null;
            while (started.Elapsed < TimeSpan.FromSeconds(4.5))
            {
                await using var db = CreateContext(es => es.AddProjection<BalanceProjection>());
                await db.Projections().CatchUpAsync("balances");
                if (await db.Set<AccountBalance>().AnyAsync(b => b.Projection == "balances" && b.Stream == stream.ToString()))
                {
                    applied = started.Elapsed;
                    break;
                }

                await Task.Delay(20);
            }

            Assert.That(dispatch.IsCompleted, Is.False, "the publish was still running");
            TestContext.Out.WriteLine($"committed after {committed.TotalMilliseconds:0} ms, applied by the catch-up projection after {applied?.TotalMilliseconds:0} ms");
            Assert.That(applied, Is.Not.Null, "the catch-up projection applied the event while the publish ran");
            Assert.That(applied!.Value - committed, Is.LessThan(TimeSpan.FromSeconds(1)));
            Assert.That(await dispatch, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task A_dispatcher_process_killed_mid_publish_leaves_its_messages_to_another_after_the_lease_with_the_attempt_counted()
    {
        var a = NewStream();
        var b = NewStream();
        var idsA = await SeedOutboxAsync(a, 3);
        var idsB = await SeedOutboxAsync(b, 3);

        // The child publishes what it claims until it hangs on b@2; then it is killed.
        using var child = await ChildDispatcherProcess.StartAsync(
            Fixture.ConnectionString, "outbox-child-kill", "--max-attempts", "5", "--lease-ms", "2000", "--publish-timeout-ms", "1500",
            "--hang-on-stream", b.Id, "--hang-on-version", "2");
        await child.WaitForLineAsync(l => l.StartsWith("H ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        child.KillHard();
        var byChild = Published(child.Lines);
        Assert.That(byChild.Select(p => p.MessageId), Does.Contain(idsB[0]).And.Not.Contain(idsB[1]), "b@1 reached the broker, b@2 hung");

        var rows = (await RowsAsync()).ToDictionary(r => r.EventId);
        var publishedUnmarked = byChild.Where(p => rows[p.MessageId].DispatchedAt is null).Select(p => p.MessageId).ToList();
        // The child claimed each stream's run (a@1..3, b@1..3) in one batch: the claim charged an attempt to each stream's
        // head only; the rest of a run is charged when its outcome is recorded, which the kill prevented.
        Assert.That((rows[idsB[0]].Attempts, rows[idsB[0]].LeaseOwner is not null, rows[idsB[0]].DispatchedAt), Is.EqualTo((1, true, (DateTimeOffset?)null)),
            "the run's head is leased to the dead process, its attempt counted at claim, not marked");
        Assert.That((rows[idsB[1]].Attempts, rows[idsB[1]].LeaseOwner is not null, rows[idsB[1]].DispatchedAt), Is.EqualTo((0, true, (DateTimeOffset?)null)),
            "the hung message is leased to the dead process, not marked; the crashed run's attempt is the one counted on its head");
        Assert.That(rows[idsB[2]].Attempts, Is.Zero, "the row behind the hung message was never charged");
        var pendingAfterKill = rows.Values.Where(r => r.DispatchedAt is null).Select(r => r.EventId).ToList();

        var survivor = new RecordingPublisher();
        await using (var db = CreateContext(es => es.UseOutbox(o => o.PublishAll("events").RetryBackoff(TimeSpan.Zero, TimeSpan.Zero))))
        {
            await db.Outbox().DispatchPendingAsync(survivor);
            Assert.That(survivor.Published.Select(m => m.MessageId), Does.Not.Contain(idsB[1]), "still leased: stream b waits");
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (survivor.Published.Select(m => m.MessageId).Distinct().Count() < pendingAfterKill.Count && DateTime.UtcNow < deadline)
        {
            await using var db = CreateContext(es => es.UseOutbox(o => o.PublishAll("events").RetryBackoff(TimeSpan.Zero, TimeSpan.Zero)));
            await db.Outbox().DispatchPendingAsync(survivor);
            await Task.Delay(100);
        }

        Assert.That(survivor.Published.Select(m => m.MessageId), Is.EquivalentTo(pendingAfterKill), "everything the dead process left unmarked, once");
        Assert.That(survivor.Published.Where(m => m.StreamId == a).Select(m => m.MessageId), Is.EqualTo(idsA.Where(pendingAfterKill.Contains)), "in stream order");
        Assert.That(survivor.Published.Where(m => m.StreamId == b).Select(m => (m.MessageId, m.Attempt)), Is.EqualTo(new[] { (idsB[0], 2), (idsB[1], 1), (idsB[2], 1) }),
            "the killed run counted once, on its head: b@1 goes out again as attempt 2; after a crash the stream goes one version per claim, each charged at claim");
        var duplicates = byChild.Count + survivor.Published.Count - 6;
        TestContext.Out.WriteLine($"published by the killed process: {byChild.Count}, of which not marked and so re-published (at-least-once duplicates): {duplicates}");
        Assert.That(duplicates, Is.EqualTo(publishedUnmarked.Count), "re-published: exactly what reached the broker but was never marked");
        Assert.That((await RowsAsync()).Select(r => r.DispatchedAt is not null), Is.All.True);
    }

    [Test]
    public async Task A_message_that_kills_its_dispatcher_every_time_ends_a_dead_letter_after_MaxAttempts()
    {
        var stream = NewStream();
        var ids = await SeedOutboxAsync(stream, 3);
        for (var kill = 1; kill <= 2; kill++)
        {
            // Wait until the previous lease has expired, so that this child claims the poisoned head again.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (await AdminScalarAsync<long>("SELECT count(*) FROM es_outbox WHERE lease_expires_at > now()") > 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            using var child = await ChildDispatcherProcess.StartAsync(
                Fixture.ConnectionString, "outbox-child-poison", "--max-attempts", "2", "--lease-ms", "1500", "--publish-timeout-ms", "1000", "--hang-on-version", "1");
            await child.WaitForLineAsync(l => l.StartsWith("H ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            child.KillHard();
            Assert.That(child.Lines.Single(l => l.StartsWith("H ", StringComparison.Ordinal)), Is.EqualTo($"H {ids[0]} 1 {kill}"));
        }

        var survivor = new RecordingPublisher();
        var until = DateTime.UtcNow.AddSeconds(20);
        while (survivor.Published.Count < 2 && DateTime.UtcNow < until)
        {
            await using var db = CreateContext(es => es.UseOutbox(o => o.PublishAll("events").MaxAttempts(2).RetryBackoff(TimeSpan.Zero, TimeSpan.Zero)));
            await db.Outbox().DispatchPendingAsync(survivor);
            await Task.Delay(100);
        }

        Assert.That(survivor.Published.Select(m => (m.MessageId, m.Attempt)), Is.EqualTo(ids[1..].Select(id => (id, 1))), "the dead letter no longer holds its stream back; the rows behind it were never charged");
        var head = (await RowsAsync()).Single(r => r.EventId == ids[0]);
        Assert.That((head.Attempts, head.DeadLetteredAt is not null), Is.EqualTo((2, true)));
        Assert.That(head.LastError, Does.Contain("lease of attempt 2 expired"));
    }

    /// <summary>The publishes a child reported, in its order (a line cut short by a kill is not counted: it was not acknowledged).</summary>
    internal static List<(Guid MessageId, string StreamId, long Version, int Attempt, long Timestamp)> Published(IEnumerable<string> lines)
        => lines.Select(l => l.Split(' '))
            .Where(p => p.Length == 7 && p[0] == "P" && p[6].Length > 0)
            .Select(p => (Guid.Parse(p[1]), p[2] + "/" + p[3], long.Parse(p[4], CultureInfo.InvariantCulture), int.Parse(p[5], CultureInfo.InvariantCulture),
                long.Parse(p[6], CultureInfo.InvariantCulture)))
            .ToList();

    private async Task<(string State, bool HasTransactionId)> SessionStateAsync(string applicationName)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT state, backend_xid IS NOT NULL FROM pg_stat_activity WHERE application_name = @name", connection);
        command.Parameters.AddWithValue("name", applicationName);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetString(0), reader.GetBoolean(1)) : ("no session", false);
    }

    private sealed class DelegatePublisher(Func<OutboxMessage, CancellationToken, Task> publish) : IOutboxPublisher
    {
        public Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken) => publish(message, cancellationToken);
    }
}
