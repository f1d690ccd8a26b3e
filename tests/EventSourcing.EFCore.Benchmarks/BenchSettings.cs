namespace EventSourcing.EFCore.Benchmarks;

/// <summary>Sizes of one benchmark mode: <c>--quick</c> (smoke run, under 2 minutes) or the full run.</summary>
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
    int SnapshotStreamEvents)
{
    public static BenchSettings Quick { get; } = new(
        Mode: "quick",
        AppendRuns: 5,
        SingleAppendsPerRun: 150,
        BatchSavesPerRun: 8,
        BatchSize: 100,
        ImportRuns: 3,
        ImportEvents: 100_000,
        ImportStreams: 1_000,
        NaiveImportDivisor: 10,
        ConcurrentRuns: 5,
        Writers: 8,
        AppendsPerWriter: 20,
        HotAppendsPerWriter: 5,
        LoadRuns: 5,
        LoadSizes: [1_000, 10_000, 100_000],
        ReadAllRuns: 3,
        ReadAllEvents: 200_000,
        ReadAllPageSize: 1_000,
        SnapshotStreamEvents: 50_000);

    public static BenchSettings Full { get; } = new(
        Mode: "full",
        AppendRuns: 21,
        SingleAppendsPerRun: 400,
        BatchSavesPerRun: 25,
        BatchSize: 100,
        ImportRuns: 3,
        ImportEvents: 1_000_000,
        ImportStreams: 10_000,
        NaiveImportDivisor: 10,
        ConcurrentRuns: 15,
        Writers: 8,
        AppendsPerWriter: 60,
        HotAppendsPerWriter: 20,
        LoadRuns: 11,
        LoadSizes: [1_000, 10_000, 100_000],
        ReadAllRuns: 3,
        ReadAllEvents: 2_000_000,
        ReadAllPageSize: 1_000,
        SnapshotStreamEvents: 1_000_000);

    /// <summary>How many loads of a stream of <paramref name="size"/> events make one run.</summary>
    public int LoadsPerRun(int size) => Math.Max(1, (Mode == "quick" ? 5_000 : 20_000) / size);
}
