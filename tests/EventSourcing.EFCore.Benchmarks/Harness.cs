namespace EventSourcing.EFCore.Benchmarks;

/// <summary>
/// Runs the variants of a scenario in one process after two warm-up runs each, then R rounds of one run of every variant
/// (interleaved: library, raw, naive, library, raw, naive …, the order rotated each round so that no variant always runs
/// first), so that drift of the machine hits every variant of a round alike; ratios pair the runs of the same round.
/// </summary>
public static class Bench
{
    public const string Library = "library";
    public const string Raw = "raw Npgsql";
    public const string Naive = "naive EF";

    public static readonly string[] Variants = [Library, Raw, Naive, UpcastScenario.NoUpcast, OutboxScenario.Unordered, CatchUpScenario.NoOpHandler];

    public static async Task<ScenarioResult> RunAsync(ScenarioResult result, int runs, IReadOnlyList<Variant> variants, Func<Variant, Task>? beforeEach = null)
    {
        Console.Write($"  {result.Id} {result.Title}: warm-up");
        foreach (var variant in variants)
        {
            result.Samples[variant.Name] = [];
            for (var warmUp = 0; warmUp < 2; warmUp++)
            {
                if (beforeEach is not null)
                {
                    await beforeEach(variant);
                }

                await variant.RunAsync(-1);
            }
        }

        Console.Write(", runs ");
        for (var run = 0; run < runs; run++)
        {
            // Rotate the order so that no variant always runs first (or right after another one).
            for (var k = 0; k < variants.Count; k++)
            {
                var variant = variants[(run + k) % variants.Count];
                if (beforeEach is not null)
                {
                    await beforeEach(variant);
                }

                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                var sampler = variant.Name == Library ? AllocationSampler.Instance : null;
                sampler?.Sampling = true;
                result.Samples[variant.Name].Add(await variant.RunAsync(run));
                sampler?.Sampling = false;
            }

            Console.Write(".");
        }

        if (AllocationSampler.Instance is { } allocations)
        {
            var summary = allocations.TakeSummary();
            Console.WriteLine($"    library allocations sampled by type: {summary}");
            result.Note = (result.Note is null ? "" : result.Note + " ") + "Library allocations sampled by type (--alloc-profile): " + summary + ".";
        }

        if (result.Samples.ContainsKey(Raw))
        {
            var (low, high) = result.RatioQuartiles(Library);
            Console.WriteLine(
                $" library/raw {result.Ratio(Library):0.00} (IQR {low:0.00}–{high:0.00}{(result.SpreadTooWide(Library) ? ", spread too wide to judge" : "")}),"
                + $" CPU/event {result.CpuPerUnit(Library):0.0} / {result.CpuPerUnit(Raw):0.0} µs, allocated/event {result.BytesPerUnit(Library):N0} / {result.BytesPerUnit(Raw):N0} B");
        }
        else
        {
            Console.WriteLine();
        }
        return result;
    }
}
