using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>
/// Scenarios A (one event per SaveChanges, one writer), B (100 events per SaveChanges to one stream) and D (8 concurrent
/// writers on their own streams; 8 writers on one hot stream with reload-and-retry) and J (8 writers on one stream with
/// ExpectedVersion.Any).
/// </summary>
public sealed class AppendScenarios(BenchDatabase db, BenchSettings settings)
{
    public Task<ScenarioResult> SingleEventAsync()
    {
        var result = new ScenarioResult("A", "1 event per SaveChanges, 1 writer", "events/s", new Target(0.90, "≥ 0.90, CPU ≤ 1.5× raw, ≤ 8 KB per save", MaxCpuRatio: 1.5, MaxBytesPerUnit: 8 * 1024), timeRatio: false);
        return Bench.RunAsync(result, settings.AppendRuns, [
            Sequential(Bench.Library, settings.SingleAppendsPerRun, 1, LibraryAppendAsync),
            Sequential(Bench.Raw, settings.SingleAppendsPerRun, 1, RawAppendAsync),
            Sequential(Bench.Naive, settings.SingleAppendsPerRun, 1, NaiveAppendAsync),
        ]);
    }

    public Task<ScenarioResult> BatchAsync()
    {
        var result = new ScenarioResult("B", $"{settings.BatchSize} events per SaveChanges, 1 stream", "events/s", new Target(0.90, "≥ 0.90, ≤ 600 B per event", MaxBytesPerUnit: 600), timeRatio: false);
        return Bench.RunAsync(result, settings.AppendRuns, [
            Sequential(Bench.Library, settings.BatchSavesPerRun, settings.BatchSize, LibraryAppendAsync),
            Sequential(Bench.Raw, settings.BatchSavesPerRun, settings.BatchSize, RawAppendAsync),
            Sequential(Bench.Naive, settings.BatchSavesPerRun, settings.BatchSize, NaiveAppendAsync),
        ]);
    }

    public Task<ScenarioResult> ConcurrentOwnStreamsAsync()
    {
        var result = new ScenarioResult("D1", $"{settings.Writers} concurrent writers, own streams, 1 event per save", "events/s", new Target(0.90, "≥ 0.90"), timeRatio: false);
        return Bench.RunAsync(result, settings.ConcurrentRuns, [
            Concurrent(Bench.Library, LibraryAppendAsync),
            Concurrent(Bench.Raw, RawAppendAsync),
            Concurrent(Bench.Naive, NaiveAppendAsync),
        ]);
    }

    public Task<ScenarioResult> ConcurrentHotStreamAsync()
    {
        var result = new ScenarioResult("D2", $"{settings.Writers} concurrent writers, 1 hot stream, reload + retry", "events/s", target: null, timeRatio: false);
        return Bench.RunAsync(result, settings.ConcurrentRuns, [
            Hot(Bench.Library, LibraryHotAppendAsync),
            Hot(Bench.Raw, RawHotAppendAsync),
            Hot(Bench.Naive, NaiveHotAppendAsync),
        ]);
    }

    /// <summary>Scenario J: 8 writers appending to one stream with ExpectedVersion.Any; the library must never lose a race (retries 0).</summary>
    public Task<ScenarioResult> ConcurrentAnyAsync()
    {
        var result = new ScenarioResult("J", $"{settings.Writers} concurrent writers, 1 stream, ExpectedVersion.Any (raw: reload + retry)", "events/s", target: null, timeRatio: false);
        return Bench.RunAsync(result, settings.ConcurrentRuns, [
            Hot(Bench.Library, LibraryAnyAppendAsync),
            Hot(Bench.Raw, RawHotAppendAsync),
        ]);
    }

    // ------------------------------------------------------------------ variants

    /// <summary>Appends <paramref name="count"/> new events (created and serialized here) at version <paramref name="version"/> + 1 ….</summary>
    private delegate Task AppendAsync(Guid stream, long version, int count);

    private async Task LibraryAppendAsync(Guid stream, long version, int count)
    {
        var events = new object[count];
        for (var i = 0; i < count; i++)
        {
            events[i] = BenchEvents.Create(stream, version + i + 1);
        }

        await using var context = db.Library.CreateDbContext();
        context.Events().Append(new StreamId(BenchEvents.StreamType, stream.ToString()), ExpectedVersion.Exactly(version), events);
        await context.SaveChangesAsync();
    }

    private async Task RawAppendAsync(Guid stream, long version, int count)
    {
        if (count == 1)
        {
            await RawEventStore.AppendOneAsync(db.DataSource, stream.ToString(), version + 1, BenchEvents.Create(stream, version + 1));
            return;
        }

        var events = new object[count];
        for (var i = 0; i < count; i++)
        {
            events[i] = BenchEvents.Create(stream, version + i + 1);
        }

        await RawEventStore.AppendManyAsync(db.DataSource, stream.ToString(), version + 1, events);
    }

    private async Task NaiveAppendAsync(Guid stream, long version, int count)
    {
        await using var context = db.Naive.CreateDbContext();
        var id = stream.ToString();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < count; i++)
        {
            var e = BenchEvents.Create(stream, version + i + 1);
            context.Events.Add(new NaiveEvent
            {
                StreamType = BenchEvents.StreamType,
                StreamId = id,
                Sequence = version + i + 1,
                EventId = Guid.CreateVersion7(),
                EventType = BenchEvents.NameOf(e),
                EventVersion = 1,
                Payload = BenchEvents.Serialize(e),
                CreatedAt = now,
            });
        }

        await context.SaveChangesAsync();
    }

    private static Variant Sequential(string name, int saves, int eventsPerSave, AppendAsync append)
    {
        var stream = Guid.CreateVersion7();
        long version = 0;
        return new Variant(name, async run =>
        {
            var n = saves; // the warm-up run is a full run: every method of the path reaches its optimized JIT tier
            var sample = new RunSample();
            sample.Start();
            for (var i = 0; i < n; i++)
            {
                var t = Stopwatch.GetTimestamp();
                await append(stream, version, eventsPerSave);
                version += eventsPerSave;
                sample.AddLatency(t);
            }

            sample.Stop();
            sample.Units = (long)n * eventsPerSave;
            return sample;
        });
    }

    private Variant Concurrent(string name, AppendAsync append)
    {
        var streams = Enumerable.Range(0, settings.Writers).Select(_ => Guid.CreateVersion7()).ToArray();
        var versions = new long[settings.Writers];
        return new Variant(name, async run =>
        {
            var n = settings.AppendsPerWriter;
            var sample = new RunSample();
            sample.Start();
            await Task.WhenAll(Enumerable.Range(0, settings.Writers).Select(w => Task.Run(async () =>
            {
                for (var i = 0; i < n; i++)
                {
                    var t = Stopwatch.GetTimestamp();
                    await append(streams[w], versions[w], 1);
                    versions[w]++;
                    sample.AddLatency(t);
                }
            })));
            sample.Stop();
            sample.Units = (long)n * settings.Writers;
            return sample;
        });
    }

    // ------------------------------------------------------------------ hot stream

    /// <summary>Reloads the stream's version and appends one event after it; returns false when another writer won.</summary>
    private delegate Task<bool> TryAppendAsync(Guid stream);

    private async Task<bool> LibraryHotAppendAsync(Guid stream)
    {
        await using var context = db.Library.CreateDbContext();
        var streamId = new StreamId(BenchEvents.StreamType, stream.ToString());
        var version = await context.Events().GetStreamVersionAsync(streamId) ?? 0;
        context.Events().Append(streamId, ExpectedVersion.Exactly(version), BenchEvents.Create(stream, version + 1));
        try
        {
            await context.SaveChangesAsync();
            return true;
        }
        catch (Exception e) when (IsConflict(e))
        {
            return false;
        }
    }

    private async Task<bool> LibraryAnyAppendAsync(Guid stream)
    {
        await using var context = db.Library.CreateDbContext();
        context.Events().Append(new StreamId(BenchEvents.StreamType, stream.ToString()), ExpectedVersion.Any, BenchEvents.Create(stream, 0));
        try
        {
            await context.SaveChangesAsync();
            return true;
        }
        catch (Exception e) when (IsConflict(e))
        {
            return false; // counted as a retry: ExpectedVersion.Any lost a race
        }
    }

    private async Task<bool> RawHotAppendAsync(Guid stream)
    {
        var version = await RawEventStore.GetVersionAsync(db.DataSource, stream.ToString());
        try
        {
            await RawEventStore.AppendOneAsync(db.DataSource, stream.ToString(), version + 1, BenchEvents.Create(stream, version + 1));
            return true;
        }
        catch (Exception e) when (IsConflict(e))
        {
            return false;
        }
    }

    private async Task<bool> NaiveHotAppendAsync(Guid stream)
    {
        await using var context = db.Naive.CreateDbContext();
        var id = stream.ToString();
        var version = await context.Events.Where(e => e.StreamType == BenchEvents.StreamType && e.StreamId == id).MaxAsync(e => (long?)e.Sequence) ?? 0;
        var data = BenchEvents.Create(stream, version + 1);
        context.Events.Add(new NaiveEvent
        {
            StreamType = BenchEvents.StreamType,
            StreamId = id,
            Sequence = version + 1,
            EventId = Guid.CreateVersion7(),
            EventType = BenchEvents.NameOf(data),
            EventVersion = 1,
            Payload = BenchEvents.Serialize(data),
            CreatedAt = DateTimeOffset.UtcNow,
        });
        try
        {
            await context.SaveChangesAsync();
            return true;
        }
        catch (Exception e) when (IsConflict(e))
        {
            return false;
        }
    }

    private Variant Hot(string name, TryAppendAsync tryAppend)
    {
        var stream = Guid.CreateVersion7();
        return new Variant(name, async run =>
        {
            var n = run < 0 ? 2 : settings.HotAppendsPerWriter;
            var sample = new RunSample();
            long retries = 0;
            sample.Start();
            await Task.WhenAll(Enumerable.Range(0, settings.Writers).Select(_ => Task.Run(async () =>
            {
                for (var i = 0; i < n; i++)
                {
                    var t = Stopwatch.GetTimestamp();
                    while (!await tryAppend(stream))
                    {
                        Interlocked.Increment(ref retries);
                    }

                    sample.AddLatency(t);
                }
            })));
            sample.Stop();
            sample.Units = (long)n * settings.Writers;
            sample.Retries = retries;
            return sample;
        });
    }

    /// <summary>A lost race: the library's typed exception, or a unique violation / stream guard error from PostgreSQL.</summary>
    private static bool IsConflict(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is StreamConcurrencyException
                || inner is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.SerializationFailure or "ES409" })
            {
                return true;
            }
        }

        return false;
    }
}
