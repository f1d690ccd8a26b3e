using System.Diagnostics;
using System.Globalization;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// Three dispatcher processes share one outbox while producers keep appending, with a publisher that rejects 5% of the
/// calls and hangs on 1% (until the publish timeout), and one dispatcher killed with SIGKILL (and restarted) at a fixed
/// interval: nothing is lost (every message is published or a dead letter), each stream's messages first reach the
/// broker in version order, and no dispatcher holds a transaction id for 1 s or more (read-all's horizon). Duplicates
/// (re-publishes after a kill between publish and mark) are counted and printed with the other figures.
/// With <c>EVENTSOURCING_LONG_TESTS=1</c>: 100,000 messages on 1,000 streams, a kill every 10 s; otherwise 5,000 on
/// 100 streams, a kill every 5 s. Each dispatcher leases batches of 20 for 2 s, with a 300 ms publish timeout.
/// </summary>
public sealed class OutboxSoakNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    private const string LongTestsVariable = "EVENTSOURCING_LONG_TESTS";

    [Test]
    public async Task Three_dispatcher_processes_with_failures_hangs_and_kills_lose_nothing_keep_stream_order_and_never_hold_read_all_back()
    {
        var full = Environment.GetEnvironmentVariable(LongTestsVariable) == "1";
        var messages = full ? 100_000 : 5_000;
        var streams = full ? 1_000 : 100;
        var killEvery = full ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(5);
        const int dispatchers = 3;
        const int producers = 4;
        const int streamsPerSave = 25;
        var perStream = messages / streams;
        var run = Guid.NewGuid().ToString("N")[..8];
        string[] childOptions = ["--max-attempts", "10", "--batch-size", "20", "--lease-ms", "2000", "--publish-timeout-ms", "300", "--fail-rate", "0.05", "--hang-rate", "0.01"];

        var ids = Enumerable.Range(0, streams).Select(i => new StreamId("outbox-soak", i.ToString("D4", CultureInfo.InvariantCulture) + "-" + run)).ToArray();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(full ? 30 : 10));
        var clock = Stopwatch.StartNew();

        var children = new List<ChildDispatcherProcess>();
        var live = new ChildDispatcherProcess[dispatchers];
        for (var d = 0; d < dispatchers; d++)
        {
            live[d] = await ChildDispatcherProcess.StartAsync(Fixture.ConnectionString, $"outbox-soak-{run}-{d}", childOptions);
            children.Add(live[d]);
        }

        var longestHold = TimeSpan.Zero;
        var longestHoldQuery = "";
        using var stopMonitor = new CancellationTokenSource();
        var monitor = Task.Run(async () =>
        {
            await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "SELECT extract(epoch FROM clock_timestamp() - xact_start)::float8, coalesce(state, '') || ' ' || coalesce(wait_event_type, '') || ' ' || left(query, 60) "
                + "FROM pg_stat_activity WHERE application_name LIKE @name AND backend_xid IS NOT NULL ORDER BY xact_start LIMIT 1", connection);
            command.Parameters.AddWithValue("name", $"outbox-soak-{run}-%");
            while (!stopMonitor.IsCancellationRequested)
            {
                await using (var reader = await command.ExecuteReaderAsync())
                {
                    if (await reader.ReadAsync() && TimeSpan.FromSeconds(reader.GetDouble(0)) is var held && held > longestHold)
                    {
                        longestHold = held;
                        longestHoldQuery = reader.GetString(1);
                    }
                }

                await Task.Delay(20);
            }
        });

        var producerTasks = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            var mine = ids.Where((_, i) => i % producers == p).ToArray();
            for (var round = 0; round < perStream; round++)
            {
                foreach (var chunk in mine.Chunk(streamsPerSave))
                {
                    await using var db = CreateContext(es => es.UseOutbox(o => o.PublishAll("events")));
                    foreach (var stream in chunk)
                    {
                        db.Events().Append(stream, ExpectedVersion.Exactly(round), new Deposited(round + 1));
                    }

                    await db.SaveChangesAsync(timeout.Token);
                }
            }
        })).ToArray();

        var kills = 0;
        var nextKill = clock.Elapsed + killEvery;
        var producersDoneAt = TimeSpan.Zero;
        while (true)
        {
            timeout.Token.ThrowIfCancellationRequested();
            if (producerTasks.All(t => t.IsCompleted))
            {
                await Task.WhenAll(producerTasks);
                if (producersDoneAt == TimeSpan.Zero)
                {
                    producersDoneAt = clock.Elapsed;
                }

                await using var check = CreateContext(es => es.UseOutbox(o => o.PublishAll("events")));
                if ((await check.Outbox().GetStatsAsync(timeout.Token)).Pending == 0)
                {
                    break;
                }
            }

            if (clock.Elapsed >= nextKill)
            {
                var victim = kills % dispatchers;
                live[victim].KillHard();
                kills++;
                live[victim] = await ChildDispatcherProcess.StartAsync(Fixture.ConnectionString, $"outbox-soak-{run}-{victim}", childOptions);
                children.Add(live[victim]);
                nextKill = clock.Elapsed + killEvery;
            }

            await Task.Delay(100, timeout.Token);
        }

        var elapsed = clock.Elapsed;
        foreach (var child in children)
        {
            child.Dispose();
        }

        await stopMonitor.CancelAsync();
        await monitor;

        var published = children.SelectMany(c => OutboxLeaseNpgsqlTest.Published(c.Lines)).OrderBy(p => p.Timestamp).ToList();
        var hangs = children.Sum(c => c.Lines.Count(l => l.StartsWith("H ", StringComparison.Ordinal)));
        var distinct = published.Select(p => p.MessageId).ToHashSet();
        var duplicates = published.Count - distinct.Count;
        await using var db = CreateContext(es => es.UseOutbox(o => o.PublishAll("events")));
        var stored = await db.Set<EventSourcing.EFCore.Storage.StoredEvent>().Select(e => e.EventId).ToListAsync();
        var deadLetters = new List<OutboxDeadLetter>();
        for (long after = 0; ;)
        {
            var page = await db.Outbox().GetDeadLettersAsync(afterId: after, limit: 1000);
            deadLetters.AddRange(page);
            if (page.Count < 1000)
            {
                break;
            }

            after = page[^1].Id;
        }

        // Order: per stream, the first time each version reaches the broker, versions only go up (re-publishes of a
        // version already delivered are duplicates, not order violations).
        var orderViolations = 0;
        foreach (var stream in published.GroupBy(p => p.StreamId))
        {
            var seen = new HashSet<long>();
            var highest = 0L;
            foreach (var (_, _, version, _, _) in stream)
            {
                if (!seen.Add(version))
                {
                    continue;
                }

                if (version < highest)
                {
                    orderViolations++;
                }

                highest = Math.Max(highest, version);
            }
        }

        TestContext.Out.WriteLine(
            $"outbox soak: {messages} messages, {streams} streams, {producers} producers, {dispatchers} dispatcher processes, {kills} killed (SIGKILL) every {killEvery.TotalSeconds:0} s; "
            + $"published {published.Count} ({distinct.Count} distinct, {duplicates} duplicates), {hangs} hung publishes, dead letters {deadLetters.Count}, "
            + $"order violations {orderViolations}; longest transaction id held by a dispatcher {longestHold.TotalMilliseconds:0} ms ({longestHoldQuery}); "
            + $"producers done at {producersDoneAt.TotalSeconds:0.0} s, all dispatched at {elapsed.TotalSeconds:0.0} s ({distinct.Count / elapsed.TotalSeconds:0} msg/s)");

        Assert.That(stored, Has.Count.EqualTo(messages));
        Assert.That(distinct.Union(deadLetters.Select(d => d.MessageId)).ToHashSet().SetEquals(stored), Is.True, "every message published or a dead letter, none lost");
        Assert.That(kills, Is.GreaterThan(0), "dispatchers were killed");
        Assert.That(hangs, Is.GreaterThan(0), "some publishes hung");
        Assert.That(orderViolations, Is.Zero, "each stream's messages first published in version order");
        Assert.That(longestHold, Is.LessThan(TimeSpan.FromSeconds(1)), "read-all never held back by the outbox for 1 s");
    }
}
