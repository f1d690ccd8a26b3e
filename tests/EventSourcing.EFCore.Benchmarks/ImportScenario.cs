using Microsoft.EntityFrameworkCore;
using System.Diagnostics;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>Scenario C: bulk import of whole new streams (1,000,000 events over 10,000 streams in the full run).</summary>
public sealed class ImportScenario(BenchDatabase db, BenchSettings settings)
{
    public Task<ScenarioResult> RunAsync()
    {
        var perStream = settings.ImportEvents / settings.ImportStreams;
        var result = new ScenarioResult(
            "C", $"import {settings.ImportEvents:N0} events over {settings.ImportStreams:N0} new streams", "events/s", new Target(0.95, "≥ 0.95"), timeRatio: false)
        {
            Note = $"naive EF imports 1/{settings.NaiveImportDivisor} of the events per run (1,000 per SaveChanges); its rate is comparable, its time is not.",
        };
        return Bench.RunAsync(
            result,
            settings.ImportRuns,
            [
                Timed(Bench.Library, settings.ImportStreams, perStream, LibraryImportAsync),
                Timed(Bench.Raw, settings.ImportStreams, perStream, RawImportAsync),
                Timed(Bench.Naive, settings.ImportStreams / settings.NaiveImportDivisor, perStream, NaiveImportAsync),
            ],
            _ => db.TruncateAsync());
    }

    /// <summary>The streams to import, created lazily while they are written (creation and serialization are timed).</summary>
    private static IEnumerable<(Guid Id, IReadOnlyList<object> Events)> Streams(int streams, int perStream)
    {
        for (var s = 0; s < streams; s++)
        {
            var id = Guid.CreateVersion7();
            var events = new object[perStream];
            for (var i = 0; i < perStream; i++)
            {
                events[i] = BenchEvents.Create(id, i + 1);
            }

            yield return (id, events);
        }
    }

    private async Task<long> LibraryImportAsync(int streams, int perStream)
    {
        await using var context = db.Library.CreateDbContext();
        return await context.Events().ImportAsync(
            Streams(streams, perStream).Select(s => new StreamImport(new StreamId(BenchEvents.StreamType, s.Id.ToString()), s.Events)));
    }

    private Task<long> RawImportAsync(int streams, int perStream)
        => RawEventStore.CopyAsync(db.DataSource, Streams(streams, perStream).Select(s => (s.Id.ToString(), s.Events)));

    private async Task<long> NaiveImportAsync(int streams, int perStream)
    {
        long count = 0;
        var pending = 0;
        var context = db.Naive.CreateDbContext();
        var now = DateTimeOffset.UtcNow;
        foreach (var (id, events) in Streams(streams, perStream))
        {
            var streamId = id.ToString();
            for (var i = 0; i < events.Count; i++)
            {
                context.Events.Add(new NaiveEvent
                {
                    StreamType = BenchEvents.StreamType,
                    StreamId = streamId,
                    Sequence = i + 1,
                    EventId = Guid.CreateVersion7(),
                    EventType = BenchEvents.NameOf(events[i]),
                    EventVersion = 1,
                    Payload = BenchEvents.Serialize(events[i]),
                    CreatedAt = now,
                });
                count++;
                if (++pending == 1000)
                {
                    await context.SaveChangesAsync();
                    await context.DisposeAsync();
                    context = db.Naive.CreateDbContext();
                    pending = 0;
                }
            }
        }

        await context.SaveChangesAsync();
        await context.DisposeAsync();
        return count;
    }

    private static Variant Timed(string name, int streams, int perStream, Func<int, int, Task<long>> import)
        => new(name, async run =>
        {
            var n = run < 0 ? Math.Max(10, streams / 20) : streams;
            var sample = new RunSample();
            sample.Start();
            var t = Stopwatch.GetTimestamp();
            var count = await import(n, perStream);
            sample.AddLatency(t);
            sample.Stop();
            if (count != (long)n * perStream)
            {
                throw new InvalidOperationException($"{name} imported {count} events, expected {n * perStream}.");
            }

            sample.Units = count;
            return sample;
        });
}
