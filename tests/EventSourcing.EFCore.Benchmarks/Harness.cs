namespace EventSourcing.EFCore.Benchmarks;

/// <summary>Runs the variants of a scenario in one process, interleaved run by run, after one warm-up run each.</summary>
public static class Bench
{
    public const string Library = "library";
    public const string Raw = "raw Npgsql";
    public const string Naive = "naive EF";

    public static readonly string[] Variants = [Library, Raw, Naive, UpcastScenario.NoUpcast];

    public static async Task<ScenarioResult> RunAsync(ScenarioResult result, int runs, IReadOnlyList<Variant> variants, Func<Variant, Task>? beforeEach = null)
    {
        Console.Write($"  {result.Id} {result.Title}: warm-up");
        foreach (var variant in variants)
        {
            result.Samples[variant.Name] = [];
            if (beforeEach is not null)
            {
                await beforeEach(variant);
            }

            await variant.RunAsync(-1);
            await variant.RunAsync(-1);
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
                result.Samples[variant.Name].Add(await variant.RunAsync(run));
            }

            Console.Write(".");
        }

        Console.WriteLine(result.Samples.ContainsKey(Raw) ? $" library/raw {result.Ratio(Library):0.00}" : "");
        return result;
    }
}
