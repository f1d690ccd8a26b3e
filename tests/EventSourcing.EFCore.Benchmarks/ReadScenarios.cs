using System.Diagnostics;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>
/// Scenarios E (aggregate loads of 1,000 / 10,000 / 100,000 events without snapshot, and of a long stream with a
/// recent snapshot) and F (read-all in pages through
/// the gap-safe reader against raw keyset paging by position), on one seeded database.
/// </summary>
public sealed class ReadScenarios(BenchDatabase db, BenchSettings settings)
{
    private const int SnapshotTail = 10;

    private readonly Dictionary<int, Guid> _streams = [];
    private Guid _snapshotted;

    /// <summary>Seeds one stream per load size plus 100-event filler streams up to the read-all size, with binary COPY.</summary>
    public async Task SeedAsync()
    {
        var sw = Stopwatch.StartNew();
        foreach (var size in settings.LoadSizes)
        {
            var id = Guid.CreateVersion7();
            _streams[size] = id;
            await RawEventStore.CopyAsync(db.DataSource, [(id.ToString(), Events(id, size))]);
        }

        // E4: one long stream, snapshotted near its end by the library (the snapshot replays it once), then a short tail.
        _snapshotted = Guid.CreateVersion7();
        await RawEventStore.CopyAsync(db.DataSource, [(_snapshotted.ToString(), Events(_snapshotted, settings.SnapshotStreamEvents))]);
        await using (var context = db.Library.CreateDbContext())
        {
            await context.Aggregates<Account>().SnapshotAsync(_snapshotted);
            var tail = Enumerable.Range(settings.SnapshotStreamEvents + 1, SnapshotTail).Select(i => BenchEvents.Create(_snapshotted, i)).ToArray();
            await context.Events().AppendAsync(StreamId.For<Account>(_snapshotted), ExpectedVersion.Exactly(settings.SnapshotStreamEvents), tail);
        }

        var remaining = settings.ReadAllEvents - settings.LoadSizes.Sum() - settings.SnapshotStreamEvents - SnapshotTail;
        while (remaining > 0)
        {
            // 100 streams of 100 events per COPY: many transactions, as in a real store.
            var chunk = new List<(string, IReadOnlyList<object>)>();
            for (var i = 0; i < 100 && remaining > 0; i++)
            {
                var id = Guid.CreateVersion7();
                var n = Math.Min(100, remaining);
                chunk.Add((id.ToString(), Events(id, n)));
                remaining -= n;
            }

            await RawEventStore.CopyAsync(db.DataSource, chunk);
        }

        await db.AnalyzeAsync();
        Console.WriteLine($"  seeded {await db.CountAsync():N0} events in {sw.Elapsed.TotalSeconds:0.0} s");
    }

    private static object[] Events(Guid id, int n)
    {
        var events = new object[n];
        for (var i = 0; i < n; i++)
        {
            events[i] = BenchEvents.Create(id, i + 1);
        }

        return events;
    }

    // ------------------------------------------------------------------ E

    public async Task<List<ScenarioResult>> LoadsAsync(Func<string, bool> wanted)
    {
        var results = new List<ScenarioResult>();
        var index = 1;
        foreach (var size in settings.LoadSizes)
        {
            if (!wanted($"E{index}"))
            {
                index++;
                continue;
            }

            var id = _streams[size];
            var loads = settings.LoadsPerRun(size);
            var result = new ScenarioResult($"E{index++}", $"aggregate load, {size:N0} events, no snapshot", "events/s", new Target(1 / 1.10, "time ≤ 1.10× raw"), timeRatio: true);
            results.Add(await Bench.RunAsync(result, settings.LoadRuns, [
                Loads(Bench.Library, size, loads, async () =>
                {
                    await using var context = db.Library.CreateDbContext();
                    var account = await context.Aggregates<Account>().LoadAsync(id);
                    return account.Operations;
                }),
                Loads(Bench.Raw, size, loads, async () => (await RawEventStore.LoadAsync(db.DataSource, id.ToString())).Operations),
                Loads(Bench.Naive, size, loads, async () =>
                {
                    await using var context = db.Naive.CreateDbContext();
                    var streamId = id.ToString();
                    var rows = await context.Events.Where(e => e.StreamType == BenchEvents.StreamType && e.StreamId == streamId).OrderBy(e => e.Sequence).ToListAsync();
                    var state = new AccountState();
                    foreach (var row in rows)
                    {
                        state.Apply(BenchEvents.Deserialize(row.EventType, row.Payload));
                    }

                    return state.Operations;
                }),
            ]));
        }

        // E4: the snapshotted stream: the library reads the snapshot and the tail; raw reads the snapshot row and the tail
        // with two prepared commands and folds them into the same state.
        if (!wanted($"E{index}"))
        {
            return results;
        }

        var total = settings.SnapshotStreamEvents + SnapshotTail;
        var snapshotLoads = Math.Max(50, settings.LoadsPerRun(1_000));
        var e4 = new ScenarioResult(
            $"E{index}", $"aggregate load, {settings.SnapshotStreamEvents:N0} events with a snapshot {SnapshotTail} events from the end", "events/s",
            new Target(0, "p50 < 0.5 ms", MaxLibraryP50Ms: 0.5), timeRatio: true)
        {
            Note = "rate, CPU and allocations per event count the whole stream's events per load (most are covered by the snapshot): read the p50 latency.",
        };
        results.Add(await Bench.RunAsync(e4, settings.LoadRuns, [
            Loads(Bench.Library, total, snapshotLoads, async () =>
            {
                await using var context = db.Library.CreateDbContext();
                return (await context.Aggregates<Account>().LoadAsync(_snapshotted)).Operations;
            }),
            Loads(Bench.Raw, total, snapshotLoads, async () => (await RawEventStore.LoadFromSnapshotAsync(db.DataSource, _snapshotted.ToString())).Operations),
        ]));
        return results;
    }

    internal static Variant Loads(string name, int size, int loads, Func<Task<long>> load)
        => new(name, async run =>
        {
            // Warm-up: enough loads for tiered JIT to optimize the path (40 calls; per-row code is optimized within a long load).
            var n = run < 0 ? Math.Max(loads, Math.Clamp(400_000 / size, 4, 40)) : loads;
            var sample = new RunSample();
            sample.Start();
            for (var i = 0; i < n; i++)
            {
                var t = Stopwatch.GetTimestamp();
                var operations = await load();
                sample.AddLatency(t);
                if (operations != size)
                {
                    throw new InvalidOperationException($"{name} loaded {operations} events, expected {size}.");
                }
            }

            sample.Stop();
            sample.Units = (long)n * size;
            return sample;
        });

    // ------------------------------------------------------------------ F

    public Task<ScenarioResult> ReadAllAsync()
    {
        var total = settings.ReadAllEvents;
        var pageSize = settings.ReadAllPageSize;
        var result = new ScenarioResult("F", $"read-all {total:N0} events, pages of {pageSize:N0}", "events/s", new Target(0.90, "≥ 0.90, ≤ 800 B per event", MaxBytesPerUnit: 800), timeRatio: false);
        return Bench.RunAsync(result, settings.ReadAllRuns, [
            Reads(Bench.Library, total, pageSize, async (limit, onPage) =>
            {
                await using var context = db.Library.CreateDbContext();
                long count = 0;
                await foreach (var e in context.Events().ReadAllAsync(GlobalCheckpoint.Start, pageSize))
                {
                    GC.KeepAlive(e);
                    if (++count % pageSize == 0)
                    {
                        onPage();
                    }

                    if (count >= limit)
                    {
                        break;
                    }
                }

                return count;
            }),
            Reads(Bench.Raw, total, pageSize, (limit, onPage) => RawEventStore.ReadAllAsync(db.DataSource, pageSize, limit, onPage)),
            Reads(Bench.Naive, total, pageSize, async (limit, onPage) =>
            {
                long count = 0;
                long after = 0;
                while (count < limit)
                {
                    await using var context = db.Naive.CreateDbContext();
                    var page = await context.Events.Where(e => e.GlobalPosition > after).OrderBy(e => e.GlobalPosition).Take(pageSize).ToListAsync();
                    foreach (var row in page)
                    {
                        GC.KeepAlive(BenchEvents.Deserialize(row.EventType, row.Payload));
                        after = row.GlobalPosition;
                    }

                    count += page.Count;
                    onPage();
                    if (page.Count < pageSize)
                    {
                        break;
                    }
                }

                return count;
            }),
        ]);
    }

    private static Variant Reads(string name, long total, int pageSize, Func<long, Action, Task<long>> read)
        => new(name, async run =>
        {
            var limit = run < 0 ? Math.Min(total, 20L * pageSize) : total;
            var sample = new RunSample();
            sample.Start();
            var t = Stopwatch.GetTimestamp();
            var count = await read(limit, () =>
            {
                sample.AddLatency(t);
                t = Stopwatch.GetTimestamp();
            });
            sample.Stop();
            if (count != limit)
            {
                throw new InvalidOperationException($"{name} read {count} events, expected {limit}.");
            }

            sample.Units = count;
            return sample;
        });
}
