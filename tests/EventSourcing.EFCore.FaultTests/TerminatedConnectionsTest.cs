using System.Collections.Concurrent;
using System.Diagnostics;
using EventSourcing.EFCore.FaultTests.Worker;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>
/// Scenario 3, connections terminated: appends, aggregate loads, read-all paging, a catch-up projection and outbox
/// dispatch (claim, publish, mark) run in loops while <see cref="ConnectionKiller"/> terminates the library's backends at
/// random. Every failed call must end in a typed or transient error; afterwards (with the killer stopped, every caller
/// retrying its last call) nothing acknowledged is lost and nothing is applied, read or stored twice. Runs twice: without
/// and with Npgsql's retrying execution strategy (<c>EnableRetryOnFailure</c>), which then retries what it can itself.
/// </summary>
[TestFixture(false)]
[TestFixture(true)]
public sealed class TerminatedConnectionsTest(bool retryOnFailure)
{
    private const int Streams = 8;
    private static readonly ConcurrentDictionary<bool, Lazy<Task<Result>>> Runs = new();

    private Task<Result> Run => Runs.GetOrAdd(retryOnFailure, retry => new Lazy<Task<Result>>(() => RunAsync(retry))).Value;

    private sealed record Result(long Acknowledged, long LostAppends, long DuplicatedEvents, long TornLoads, long Loads, long ReadAllMissed, long ReadAllDuplicates,
        long ProjectionMissed, long ProjectionTwice, long Unpublished, long Redelivered, OutcomeLog Outcomes, IReadOnlyDictionary<string, long> Successes);

    [Test]
    public async Task Terminated_connections_lose_nothing_acknowledged_and_store_nothing_twice()
    {
        var result = await Run;
        Assert.Multiple(() =>
        {
            Assert.That(result.LostAppends, Is.Zero, "acknowledged appends missing");
            Assert.That(result.DuplicatedEvents, Is.Zero, "appends stored twice");
            Assert.That(result.Unpublished, Is.Zero, "outbox messages never published");
        });
    }

    [Test]
    public async Task Terminated_connections_readers_and_projections_miss_nothing_and_see_nothing_twice()
    {
        var result = await Run;
        Assert.Multiple(() =>
        {
            Assert.That(result.ReadAllMissed, Is.Zero, "events read-all paging never returned");
            Assert.That(result.ReadAllDuplicates, Is.Zero, "events read-all paging returned twice (resuming from the last checkpoint)");
            Assert.That(result.ProjectionMissed, Is.Zero, "events the catch-up projection never applied");
            Assert.That(result.ProjectionTwice, Is.Zero, "events the catch-up projection applied twice");
            Assert.That(result.TornLoads, Is.Zero, $"aggregate loads (of {result.Loads}) whose state did not match their version");
        });
    }

    [Test]
    public async Task Terminated_connections_give_every_caller_a_typed_or_transient_error()
    {
        var result = await Run;
        TestContext.Out.WriteLine($"typed {result.Outcomes.Typed}, transient {result.Outcomes.Transient}; successful calls: {string.Join(", ", result.Successes.Select(s => $"{s.Key} {s.Value}"))}");
        Assert.That(result.Outcomes.Untyped, Is.Empty);
    }

    private static Guid EventIdOf(long unit) => new(0x7e57_0000 | (int)(unit >> 32), (short)(unit >> 16), (short)unit, [0xfa, 0x17, 0, 0, 0, 0, 0, 1]);

    private static async Task<Result> RunAsync(bool retryOnFailure)
    {
        var connectionString = await FaultCluster.CreateDatabaseAsync("terminate");
        var options = FaultStore.CreateOptions(
            FaultStore.LibraryConnectionString(connectionString),
            npgsql: retryOnFailure ? o => o.EnableRetryOnFailure(5, TimeSpan.FromMilliseconds(200), null) : null);
        var random = new Random(FaultScale.Seed);
        var outcomes = new OutcomeLog();
        var successes = new ConcurrentDictionary<string, long>();
        var appendedAt = new ConcurrentQueue<TimeSpan>();
        var acknowledged = new ConcurrentDictionary<long, bool>();
        var bus = new RecordingBus();
        var seen = new ConcurrentDictionary<Guid, int>();
        var readCheckpoint = GlobalCheckpoint.Start;
        long nextUnit = 0, tornLoads = 0, loads = 0;
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();

        async Task AppendAsync(long unit)
        {
            var account = "t-" + (unit % Streams);
            await using var db = new FaultDbContext(options);
            try
            {
                await db.Events().AppendAsync(StreamId.For<Account>(account), ExpectedVersion.Any, [new EventData(new Moved(account, unit, 1)) { EventId = EventIdOf(unit) }]);
            }
            catch (EventsAlreadyAppendedException)
            {
                // an earlier attempt committed although its caller saw an error: the retry recognises it (typed)
            }

            acknowledged[unit] = true;
            appendedAt.Enqueue(clock.Elapsed);
        }

        async Task LoadAsync()
        {
            await using var db = new FaultDbContext(options);
            var account = await db.Aggregates<Account>().FindAsync("t-" + Random.Shared.Next(Streams));
            Interlocked.Increment(ref loads);
            if (account is not null && account.Moves != account.Version)
            {
                Interlocked.Increment(ref tornLoads);
            }
        }

        async Task ReadAllAsync(CancellationToken cancellationToken)
        {
            await using var db = new FaultDbContext(options);
            await foreach (var e in db.Events().ReadAllAsync(readCheckpoint, 25, cancellationToken))
            {
                seen.AddOrUpdate(e.EventId, 1, (_, n) => n + 1);
                readCheckpoint = e.Checkpoint; // resume here after a failure
            }
        }

        async Task CatchUpAsync(CancellationToken cancellationToken)
        {
            await using var db = new FaultDbContext(options);
            await db.Projections().CatchUpAsync(FaultStore.CatchUpProjections[0], cancellationToken);
        }

        async Task DispatchAsync(CancellationToken cancellationToken)
        {
            await using var db = new FaultDbContext(options);
            await db.Outbox().DispatchPendingAsync(bus, cancellationToken);
        }

        async Task LoopAsync(string operation, Func<Task> call)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await call();
                    successes.AddOrUpdate(operation, 1, (_, n) => n + 1);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    outcomes.Record(operation, e);
                }
            }
        }

        async Task AppenderAsync()
        {
            var unit = Interlocked.Increment(ref nextUnit);
            await LoopAsync("append", async () =>
            {
                await AppendAsync(unit);
                unit = Interlocked.Increment(ref nextUnit);
            });
            await SettleAsync("append", () => AppendAsync(unit)); // the call in flight when the killer stopped
        }

        var loops = new List<Task>
        {
            Task.Run(AppenderAsync),
            Task.Run(AppenderAsync),
            Task.Run(() => LoopAsync("aggregate load", LoadAsync)),
            Task.Run(() => LoopAsync("read-all paging", () => ReadAllAsync(stop.Token))),
            Task.Run(() => LoopAsync("catch-up", () => CatchUpAsync(stop.Token))),
            Task.Run(() => LoopAsync("outbox claim/publish/mark", () => DispatchAsync(stop.Token))),
        };
        IReadOnlyList<TimeSpan> kills;
        try
        {
            kills = await new ConnectionKiller(connectionString, FaultStore.ApplicationName, random).RunAsync(FaultScale.Terminations, clock, CancellationToken.None);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(loops);
        }

        // settle without the killer: each reader and runner retries to the end of the store
        await SettleAsync("read-all paging", () => ReadAllAsync(CancellationToken.None));
        await SettleAsync("catch-up", () => CatchUpAsync(CancellationToken.None));
        await SettleAsync("outbox claim/publish/mark", async () =>
        {
            while (await StoreQueries.UndispatchedAsync(connectionString) > 0)
            {
                await DispatchAsync(CancellationToken.None);
            }
        });

        async Task SettleAsync(string operation, Func<Task> call)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await call();
                    return;
                }
                catch (Exception e) when (attempt < 20)
                {
                    outcomes.Record(operation, e);
                }
            }
        }

        var stored = await StoreQueries.ScalarAsync(connectionString, "SELECT count(*) FROM es_events");
        var ids = (await StoreQueries.EventIdsAsync(connectionString)).ToHashSet();
        var lost = acknowledged.Keys.LongCount(u => !ids.Contains(EventIdOf(u)));
        var duplicated = stored - ids.Count;
        var readMissed = ids.LongCount(id => !seen.ContainsKey(id));
        var readTwice = seen.Values.Sum(n => (long)n - 1);
        var (projectionMissed, projectionTwice) = await StoreQueries.ProjectionGapsAsync(connectionString, FaultStore.CatchUpProjections[0]);
        var unpublished = ids.LongCount(id => !bus.Has(id));
        var redelivered = bus.Deliveries.Values.Sum(n => (long)n - 1);

        // recovery: from each termination to the next acknowledged append
        var appends = appendedAt.Order().ToArray();
        var recovery = kills.Select(k => appends.FirstOrDefault(a => a > k)).Zip(kills, (a, k) => a > k ? (a - k).TotalMilliseconds : double.NaN)
            .Where(ms => !double.IsNaN(ms)).ToList();
        FaultFigures.Record(new FigureRow(
            "3. backends terminated (pg_terminate_backend)" + (retryOnFailure ? ", EnableRetryOnFailure" : ""), kills.Count, acknowledged.Count,
            lost + readMissed + projectionMissed + unpublished, duplicated + readTwice + projectionTwice + redelivered, Interlocked.Read(ref tornLoads), outcomes.UntypedCount, recovery,
            $"termination to the next acknowledged append; {redelivered} re-deliveries; {outcomes.Transient} transient + {outcomes.Typed} typed errors; calls ok: {string.Join(", ", successes.Select(s => $"{s.Key} {s.Value}"))}"));
        return new Result(acknowledged.Count, lost, duplicated, Interlocked.Read(ref tornLoads), Interlocked.Read(ref loads), readMissed, readTwice,
            projectionMissed, projectionTwice, unpublished, redelivered, outcomes, successes);
    }
}
