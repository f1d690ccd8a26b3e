namespace EventSourcing.EFCore.Benchmarks;

/// <summary>Sizes of one benchmark mode: <c>--quick</c> (smoke run, R = 3 runs per variant) or the full run (R = 5–7).</summary>
public sealed record BenchSettings(
    string Mode,
    int AppendRuns,
    int SingleAppendsPerRun,
    int BatchSavesPerRun,
    int BatchSize,
    int ImportRuns,
    int ImportEvents,
    int ImportStreams,
    int NaiveImportDivisor,
    int ConcurrentRuns,
    int Writers,
    int AppendsPerWriter,
    int HotAppendsPerWriter,
    int LoadRuns,
    int[] LoadSizes,
    int ReadAllRuns,
    int ReadAllEvents,
    int ReadAllPageSize,
    int SnapshotStreamEvents,
    int CatchUpRuns,
    int CatchUpEvents,
    int OutboxRuns,
    int OutboxMessages)
{
    public static BenchSettings Quick { get; } = new(
        Mode: "quick",
        AppendRuns: 3,
        SingleAppendsPerRun: 300,
        BatchSavesPerRun: 8,
        BatchSize: 100,
        ImportRuns: 3,
        ImportEvents: 100_000,
        ImportStreams: 1_000,
        NaiveImportDivisor: 10,
        ConcurrentRuns: 3,
        Writers: 8,
        AppendsPerWriter: 30,
        HotAppendsPerWriter: 5,
        LoadRuns: 3,
        LoadSizes: [1_000, 10_000, 100_000],
        ReadAllRuns: 3,
        ReadAllEvents: 200_000,
        ReadAllPageSize: 1_000,
        SnapshotStreamEvents: 50_000,
        CatchUpRuns: 3,
        CatchUpEvents: 10_000,
        OutboxRuns: 3,
        OutboxMessages: 5_000);

    public static BenchSettings Full { get; } = new(
        Mode: "full",
        AppendRuns: 11,
        SingleAppendsPerRun: 1_200,
        BatchSavesPerRun: 300, // 30,000 events, about 0.7 s per run (75 saves, 0.16 s, moved B by ±0.1 between runs)
        BatchSize: 100,
        ImportRuns: 5,
        ImportEvents: 1_000_000,
        ImportStreams: 10_000,
        NaiveImportDivisor: 10,
        ConcurrentRuns: 11,
        Writers: 8,
        AppendsPerWriter: 480, // about 1 s per run (120, 0.23 s, moved D1 by ±0.1)
        HotAppendsPerWriter: 40,
        LoadRuns: 11,
        LoadSizes: [1_000, 10_000, 100_000],
        ReadAllRuns: 5,
        ReadAllEvents: 2_000_000,
        ReadAllPageSize: 1_000,
        SnapshotStreamEvents: 1_000_000,
        CatchUpRuns: 5,
        CatchUpEvents: 30_000,
        OutboxRuns: 5,
        OutboxMessages: 20_000);

    /// <summary>Returns these sizes with every scenario run <paramref name="runs"/> times (R, the <c>--runs</c> option).</summary>
    public BenchSettings WithRuns(int runs)
        => this with { AppendRuns = runs, ImportRuns = runs, ConcurrentRuns = runs, LoadRuns = runs, ReadAllRuns = runs, CatchUpRuns = runs, OutboxRuns = runs };

    /// <summary>
    /// How many loads of a stream of <paramref name="size"/> events make one run: 200,000 events in a full run (about half
    /// a second of loading, so that a scheduler hiccup or a collection is a small part of a run; at 20,000 a run of E2 was
    /// two loads, 40 ms, and its ratio moved by ±0.2 between runs), 20,000 in a quick one.
    /// </summary>
    public int LoadsPerRun(int size) => Math.Max(1, (Mode == "quick" ? 20_000 : 200_000) / size);
}
