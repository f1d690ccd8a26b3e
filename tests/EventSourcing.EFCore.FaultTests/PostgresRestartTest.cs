using System.Collections.Concurrent;
using System.Diagnostics;
using EventSourcing.EFCore.FaultTests.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NUnit.Framework;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>
/// Scenario 2, PostgreSQL restarted under load: three writers run units of work while the two catch-up projections
/// (one projection host) and two outbox dispatchers (hosted services) run; the server is restarted with
/// <c>pg_ctl restart -m immediate</c> at random moments. After each restart, recovery is the time until a unit committed
/// after it is applied by both projections and published. At the end the writers stop and the hosted services must
/// catch up on their own.
/// </summary>
[TestFixture]
public sealed class PostgresRestartTest
{
    private const int Accounts = 16;
    private const int Writers = 3;
    private static readonly TimeSpan RecoveryDeadline = TimeSpan.FromSeconds(90);
    private static readonly Lazy<Task<Result>> Run = new(RunAsync);

    private sealed record Result(StoreAudit Audit, IReadOnlyDictionary<string, (long Missed, long AppliedTwice)> Projections, long Unpublished,
        long Redelivered, long DeadLetters, long Undispatched, bool Converged, IReadOnlyList<string> NotRecovered, OutcomeLog Outcomes);

    [Test]
    public async Task Restart_under_load_loses_tears_and_duplicates_no_committed_unit()
    {
        var result = await Run.Value;
        Assert.Multiple(() =>
        {
            Assert.That(result.Audit.Lost, Is.Zero, "acknowledged units missing:\n" + string.Join('\n', result.Audit.Problems));
            Assert.That(result.Audit.Torn, Is.Zero, "torn units:\n" + string.Join('\n', result.Audit.Problems));
            Assert.That(result.Audit.Duplicated, Is.Zero, "duplicated units:\n" + string.Join('\n', result.Audit.Problems));
        });
    }

    [Test]
    public async Task Restart_under_load_catch_up_read_models_equal_a_replay_of_the_store()
    {
        var result = await Run.Value;
        Assert.That(result.Projections, Is.EqualTo(FaultStore.CatchUpProjections.ToDictionary(p => p, _ => (0L, 0L))), "per projection: (events missed, applied twice)");
    }

    [Test]
    public async Task Restart_under_load_publishes_every_committed_event_and_dead_letters_none()
    {
        var result = await Run.Value;
        Assert.Multiple(() =>
        {
            Assert.That(result.Unpublished, Is.Zero, "committed events never published");
            Assert.That(result.Undispatched, Is.Zero, "outbox rows still pending at the end");
            Assert.That(result.DeadLetters, Is.Zero, "dead letters caused by the restarts");
        });
        TestContext.Out.WriteLine($"re-deliveries (allowed by at-least-once): {result.Redelivered}");
    }

    [Test]
    public async Task Restart_under_load_every_hosted_service_recovers_on_its_own()
    {
        var result = await Run.Value;
        Assert.Multiple(() =>
        {
            Assert.That(result.NotRecovered, Is.Empty, "restarts after which a new unit was not projected and published in time");
            Assert.That(result.Converged, Is.True, $"projections and dispatchers caught up within {RecoveryDeadline.TotalSeconds} s after the writers stopped");
        });
    }

    [Test]
    public async Task Restart_under_load_callers_see_only_typed_or_transient_errors()
    {
        var result = await Run.Value;
        TestContext.Out.WriteLine($"typed {result.Outcomes.Typed}, transient {result.Outcomes.Transient}");
        Assert.That(result.Outcomes.Untyped, Is.Empty);
    }

    private static async Task<Result> RunAsync()
    {
        var connectionString = await FaultCluster.CreateDatabaseAsync("restart");
        var options = FaultStore.CreateOptions(FaultStore.LibraryConnectionString(connectionString));
        var bus = new RecordingBus();
        var services = new ServiceCollection();
        services.AddScoped(_ => new FaultDbContext(options));
        services.AddSingleton(bus);
        services.AddEventSourcingProjections<FaultDbContext>(o =>
        {
            o.BatchSize = 100;
            o.MinPollInterval = TimeSpan.FromMilliseconds(20);
            o.MaxPollInterval = TimeSpan.FromMilliseconds(200);
            o.RetryInterval = TimeSpan.FromMilliseconds(250); // a failed batch (server gone) is retried soon
        });
        services.AddEventSourcingOutbox<FaultDbContext, RecordingBus>(o => o.PollingInterval = TimeSpan.FromMilliseconds(50));
        services.AddEventSourcingOutbox<FaultDbContext, RecordingBus>(o => o.PollingInterval = TimeSpan.FromMilliseconds(50));
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        Assert.That(hosted, Has.Count.EqualTo(3), "one projection host (both projections) and two outbox dispatchers");

        var random = new Random(FaultScale.Seed);
        var outcomes = new OutcomeLog();
        var acknowledged = new ConcurrentDictionary<long, TimeSpan>();
        var clock = Stopwatch.StartNew();
        long nextUnit = 0;
        using var stop = new CancellationTokenSource();

        async Task WriteAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var unit = Interlocked.Increment(ref nextUnit);
                while (true)
                {
                    try
                    {
                        await using var db = new FaultDbContext(options);
                        await UnitOfWork.RunAsync(db, unit, Accounts, syncSave: unit % 2 == 0, CancellationToken.None);
                        acknowledged[unit] = clock.Elapsed;
                        break;
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        outcomes.Record("unit of work", e);
                        if (stop.IsCancellationRequested)
                        {
                            break; // outcome unknown: not acknowledged, and the audit checks it is all or nothing
                        }

                        await Task.Delay(20, CancellationToken.None);
                    }
                }
            }
        }

        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        var writers = Enumerable.Range(0, Writers).Select(_ => Task.Run(WriteAsync)).ToArray();
        var recovery = new List<double>();
        var notRecovered = new List<string>();
        bool converged;
        try
        {
            for (var restart = 1; restart <= FaultScale.Restarts; restart++)
            {
                await Task.Delay(random.Next(200, 1500));
                await FaultCluster.RestartImmediateAsync();
                var restartedAt = clock.Elapsed;
                var recovered = await PollAsync(RecoveryDeadline, async () =>
                {
                    var after = acknowledged.Where(a => a.Value > restartedAt).Select(a => a.Key).Order().FirstOrDefault();
                    if (after == 0)
                    {
                        return false;
                    }

                    var ids = await StoreQueries.EventIdsAsync(connectionString, after);
                    var applied = await StoreQueries.ScalarAsync(connectionString,
                        "SELECT count(*) FROM projected_events WHERE event_id = ANY(@ids)", ("ids", ids.ToArray()));
                    return ids.Count == 2 && ids.All(bus.Has) && applied >= 2 * FaultStore.CatchUpProjections.Length;
                });
                if (recovered)
                {
                    recovery.Add((clock.Elapsed - restartedAt).TotalMilliseconds);
                }
                else
                {
                    notRecovered.Add($"restart {restart}: no unit committed after it was projected by both projections and published within {RecoveryDeadline.TotalSeconds} s");
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        try
        {
            converged = await PollAsync(RecoveryDeadline, async () =>
            {
                var events = (await StoreQueries.EventIdsAsync(connectionString)).Count;
                foreach (var projection in FaultStore.CatchUpProjections)
                {
                    if ((await StoreQueries.ProjectionGapsAsync(connectionString, projection)).Missed > 0)
                    {
                        return false;
                    }
                }

                return events > 0 && await StoreQueries.UndispatchedAsync(connectionString) == 0;
            });
        }
        finally
        {
            foreach (var service in hosted)
            {
                await service.StopAsync(CancellationToken.None);
            }
        }

        var audit = await StoreAudit.RunAsync(connectionString, acknowledged.Keys.ToList());
        var projections = new Dictionary<string, (long, long)>();
        foreach (var projection in FaultStore.CatchUpProjections)
        {
            projections[projection] = await StoreQueries.ProjectionGapsAsync(connectionString, projection);
        }

        var allIds = await StoreQueries.EventIdsAsync(connectionString);
        var unpublished = allIds.Count(id => !bus.Has(id));
        var redelivered = bus.Deliveries.Values.Sum(n => (long)n - 1);
        var deadLetters = await StoreQueries.DeadLettersAsync(connectionString);
        var undispatched = await StoreQueries.UndispatchedAsync(connectionString);
        FaultFigures.Record(new FigureRow(
            "2. PostgreSQL restarted (immediate) under load", FaultScale.Restarts, acknowledged.Count,
            audit.Lost + unpublished + projections.Values.Sum(p => p.Item1), audit.Duplicated + redelivered + projections.Values.Sum(p => p.Item2),
            audit.Torn, outcomes.UntypedCount, recovery,
            $"restart to a new unit projected twice and published; {redelivered} re-deliveries, {deadLetters} dead letters, {outcomes.Transient} transient + {outcomes.Typed} typed errors retried"));
        return new Result(audit, projections, unpublished, redelivered, deadLetters, undispatched, converged, notRecovered, outcomes);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes; a failing poll (server still down) counts as not yet.</summary>
    public static async Task<bool> PollAsync(TimeSpan deadline, Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < deadline)
        {
            try
            {
                if (await condition())
                {
                    return true;
                }
            }
            catch (Npgsql.NpgsqlException)
            {
                // the server is not back yet
            }

            await Task.Delay(20);
        }

        return false;
    }
}
