using System.Diagnostics;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>One timed run of one variant: its elapsed time, the events (or loads) it processed, per-operation latencies.</summary>
public sealed class RunSample
{
    private readonly List<double> _latenciesMs = [];
    private long _started;
    private long _allocatedAtStart;
    private TimeSpan _cpuAtStart;

    public double Seconds { get; private set; }

    public long Units { get; set; }

    public long AllocatedBytes { get; private set; }

    /// <summary>
    /// Gets the benchmark process's user + system CPU time during the run (<see cref="Process.TotalProcessorTime"/>: every
    /// thread of the process, so background threads such as Npgsql's keep-alive, timers and the GC are counted too).
    /// </summary>
    public TimeSpan CpuTime { get; private set; }

    public IReadOnlyList<double> LatenciesMs => _latenciesMs;

    /// <summary>Extra counters a scenario wants reported (e.g. retries).</summary>
    public long Retries { get; set; }

    public void Start()
    {
        _cpuAtStart = ProcessCpu();
        _allocatedAtStart = GC.GetTotalAllocatedBytes(precise: true);
        _started = Stopwatch.GetTimestamp();
    }

    public void Stop()
    {
        Seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        AllocatedBytes = GC.GetTotalAllocatedBytes(precise: true) - _allocatedAtStart;
        CpuTime = ProcessCpu() - _cpuAtStart;
    }

    private static TimeSpan ProcessCpu()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
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

    /// <summary>Gets the client CPU time per unit (event) in microseconds.</summary>
    public double CpuMicrosecondsPerUnit => CpuTime.TotalMicroseconds / Math.Max(1, Units);

    /// <summary>Gets the bytes allocated per unit (event).</summary>
    public double BytesPerUnit => (double)AllocatedBytes / Math.Max(1, Units);
}

/// <summary>A variant of a scenario: library, raw Npgsql, or naive EF Core.</summary>
public sealed record Variant(string Name, Func<int, Task<RunSample>> RunAsync);

/// <summary>A scenario's target: a minimum library/raw ratio, or (when set) a maximum library p50 latency in ms.</summary>
/// <remarks>Optionally also a maximum library/raw client CPU ratio and a maximum of bytes allocated per unit.</remarks>
public sealed record Target(double MinRatio, string Text, double? MaxLibraryP50Ms = null, double? MaxCpuRatio = null, double? MaxBytesPerUnit = null);

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

    public double BytesPerUnit(string variant) => Stats.Median(Samples[variant].Select(s => s.BytesPerUnit));

    public double CpuPerUnit(string variant) => Stats.Median(Samples[variant].Select(s => s.CpuMicrosecondsPerUnit));

    public double MedianRetries(string variant) => Stats.Median(Samples[variant].Select(s => (double)s.Retries));

    /// <summary>Gets the median over runs of (variant rate / raw rate), pairing the samples of the same run.</summary>
    public double Ratio(string variant) => Stats.Median(PerRun(variant, s => s.Rate));

    /// <summary>Gets the interquartile range (25th and 75th percentiles) of the per-run ratios variant rate / raw rate.</summary>
    public (double Low, double High) RatioQuartiles(string variant)
    {
        var ratios = PerRun(variant, s => s.Rate).ToArray();
        return (Stats.Percentile(ratios, 25), Stats.Percentile(ratios, 75));
    }

    /// <summary>
    /// Gets a value indicating whether the per-run ratios are too spread to judge the median: a quartile lies more than
    /// <see cref="Spread"/> from the median (the interquartile range is wider than ±0.05).
    /// </summary>
    public bool SpreadTooWide(string variant)
    {
        var median = Ratio(variant);
        var (low, high) = RatioQuartiles(variant);
        return median - low > Spread || high - median > Spread;
    }

    /// <summary>The widest acceptable distance of a quartile of the per-run ratios from their median.</summary>
    public const double Spread = 0.05;

    /// <summary>Gets the median over runs of (variant CPU per event / raw CPU per event).</summary>
    public double CpuRatio(string variant) => Stats.Median(PerRun(variant, s => s.CpuMicrosecondsPerUnit));

    /// <summary>Gets the median over runs of (variant bytes per event / raw bytes per event).</summary>
    public double BytesRatio(string variant) => Stats.Median(PerRun(variant, s => s.BytesPerUnit));

    /// <summary>The per-run ratios of a measure of <paramref name="variant"/> to the same measure of raw, pairing samples of the same round.</summary>
    private IEnumerable<double> PerRun(string variant, Func<RunSample, double> measure)
        => Samples.TryGetValue(variant, out var samples) && Samples.TryGetValue(Bench.Raw, out var raw)
            ? samples.Zip(raw, (s, r) => measure(s) / measure(r))
            : [];

    public bool? Met => Target switch
    {
        null => null,
        { MaxLibraryP50Ms: { } max } => Percentile(Bench.Library, 50) < max,
        _ => Ratio(Bench.Library) >= Target.MinRatio
             && (Target.MaxCpuRatio is not { } cpu || CpuRatio(Bench.Library) <= cpu)
             && (Target.MaxBytesPerUnit is not { } bytes || BytesPerUnit(Bench.Library) <= bytes),
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
