using System.Diagnostics;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>One timed run of one variant: its elapsed time, the events (or loads) it processed, per-operation latencies.</summary>
public sealed class RunSample
{
    private readonly List<double> _latenciesMs = [];
    private long _started;
    private long _allocatedAtStart;

    public double Seconds { get; private set; }

    public long Units { get; set; }

    public long AllocatedBytes { get; private set; }

    public IReadOnlyList<double> LatenciesMs => _latenciesMs;

    /// <summary>Extra counters a scenario wants reported (e.g. retries).</summary>
    public long Retries { get; set; }

    public void Start()
    {
        _allocatedAtStart = GC.GetTotalAllocatedBytes(precise: true);
        _started = Stopwatch.GetTimestamp();
    }

    public void Stop()
    {
        Seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        AllocatedBytes = GC.GetTotalAllocatedBytes(precise: true) - _allocatedAtStart;
    }

    public void AddLatency(long startTimestamp) => AddLatency(Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds);

    public void AddLatency(double ms)
    {
        lock (_latenciesMs)
        {
            _latenciesMs.Add(ms);
        }
    }

    public double Rate => Units / Seconds;
}

/// <summary>A variant of a scenario: library, raw Npgsql, or naive EF Core.</summary>
public sealed record Variant(string Name, Func<int, Task<RunSample>> RunAsync);

/// <summary>What a scenario must reach: the median of library/raw rate ratios.</summary>
/// <summary>A scenario's target: a minimum library/raw ratio, or (when set) a maximum library p50 latency in ms.</summary>
public sealed record Target(double MinRatio, string Text, double? MaxLibraryP50Ms = null);

/// <summary>The outcome of one scenario: samples per variant, interleaved run by run.</summary>
public sealed class ScenarioResult(string id, string title, string unit, Target? target, bool timeRatio)
{
    public string Id { get; } = id;

    public string Title { get; } = title;

    /// <summary>Gets the unit of <see cref="RunSample.Rate"/> (events/s, loads/s …).</summary>
    public string Unit { get; } = unit;

    public Target? Target { get; } = target;

    /// <summary>Gets a value indicating whether the report shows the ratio as library time / raw time (loads).</summary>
    public bool TimeRatio { get; } = timeRatio;

    public Dictionary<string, List<RunSample>> Samples { get; } = [];

    public string? Note { get; set; }

    public double MedianRate(string variant) => Stats.Median(Samples[variant].Select(s => s.Rate));

    public double Percentile(string variant, double p) => Stats.Percentile(Samples[variant].SelectMany(s => s.LatenciesMs), p);

    public double BytesPerUnit(string variant) => Stats.Median(Samples[variant].Select(s => (double)s.AllocatedBytes / Math.Max(1, s.Units)));

    public double MedianRetries(string variant) => Stats.Median(Samples[variant].Select(s => (double)s.Retries));

    /// <summary>Gets the median over runs of (variant rate / raw rate), pairing the samples of the same run.</summary>
    public double Ratio(string variant)
    {
        if (!Samples.TryGetValue(variant, out var samples) || !Samples.TryGetValue(Bench.Raw, out var raw))
        {
            return double.NaN;
        }

        return Stats.Median(samples.Zip(raw, (s, r) => s.Rate / r.Rate));
    }

    public bool? Met => Target switch
    {
        null => null,
        { MaxLibraryP50Ms: { } max } => Percentile(Bench.Library, 50) < max,
        _ => Ratio(Bench.Library) >= Target.MinRatio,
    };
}

public static class Stats
{
    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).OrderBy(v => v).ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = p / 100 * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }
}
