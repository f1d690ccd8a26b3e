using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>Prints the results and writes them as markdown (<c>bench-*.md</c>) and CSV (<c>bench-*.csv</c>).</summary>
public static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Machine()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }

        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        return $"{cpu}, {Environment.ProcessorCount} cores, {memory:0} GiB RAM, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}";
    }

    public static void Write(string directory, BenchSettings settings, string machine, string postgres, IReadOnlyList<ScenarioResult> results, TimeSpan elapsed)
    {
        Directory.CreateDirectory(directory);
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", Inv);
        var markdown = Markdown(settings, machine, postgres, results, elapsed);
        var md = Path.Combine(directory, $"bench-{settings.Mode}-{stamp}.md");
        var csv = Path.Combine(directory, $"bench-{settings.Mode}-{stamp}.csv");
        File.WriteAllText(md, markdown);
        File.WriteAllText(csv, Csv(results));
        File.Copy(md, Path.Combine(directory, $"bench-{settings.Mode}-latest.md"), overwrite: true);
        File.Copy(csv, Path.Combine(directory, $"bench-{settings.Mode}-latest.csv"), overwrite: true);
        Console.WriteLine();
        Console.WriteLine(markdown);
        Console.WriteLine($"Reports: {md}, {csv}");
    }

    private static string Markdown(BenchSettings settings, string machine, string postgres, IReadOnlyList<ScenarioResult> results, TimeSpan elapsed)
    {
        var b = new StringBuilder();
        b.AppendLine(Inv, $"## Benchmark ({settings.Mode} run, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {elapsed.TotalMinutes:0.0} min)");
        b.AppendLine();
        b.AppendLine(Inv, $"- Machine: {machine}; client and server on the same machine.");
        b.AppendLine(Inv, $"- PostgreSQL: {postgres}");
        b.AppendLine("- Each scenario runs its variants in one process, interleaved run by run after two warm-up runs each; figures are medians over runs,");
        b.AppendLine("  library/raw is the median of the per-run ratios. Event creation and JSON serialization (or deserialization) are timed for every variant.");
        b.AppendLine();
        b.AppendLine("| | scenario | library | raw Npgsql | naive EF | library/raw | naive/raw | target | met |");
        b.AppendLine("|---|---|---:|---:|---:|---:|---:|---|---|");
        foreach (var r in results)
        {
            var ratio = r.Ratio(Bench.Library);
            var ratioText = double.IsNaN(ratio) ? "– (see note)" : r.TimeRatio ? $"{ratio:0.00} (time {1 / ratio:0.00}×)" : $"{ratio:0.00}";
            var naive = r.Samples.ContainsKey(Bench.Naive) ? $"{r.Ratio(Bench.Naive):0.00}" : "–";
            var met = r.Met switch { true => "yes", false => "**no**", null => "–" };
            b.AppendLine(Inv, $"| {r.Id} | {r.Title} | {Rate(r, Bench.Library)} | {Rate(r, Bench.Raw)} | {Rate(r, Bench.Naive)} | {ratioText} | {naive} | {r.Target?.Text ?? "–"} | {met} |");
        }

        b.AppendLine();
        b.AppendLine("Rates are events/s (loads: events replayed per second). Latency per operation (one SaveChanges, one load, one page), p50 / p99 in ms:");
        b.AppendLine();
        b.AppendLine("| | library | raw Npgsql | naive EF | retries per run (library / raw / naive) |");
        b.AppendLine("|---|---:|---:|---:|---|");
        foreach (var r in results)
        {
            var retries = r.Samples.Values.Any(s => s.Any(x => x.Retries > 0))
                ? string.Join(" / ", Bench.Variants.Where(r.Samples.ContainsKey).Select(v => r.MedianRetries(v).ToString("0", Inv)))
                : "";
            b.AppendLine(Inv, $"| {r.Id} | {Latency(r, Bench.Library)} | {Latency(r, Bench.Raw)} | {Latency(r, Bench.Naive)} | {retries} |");
        }

        b.AppendLine();
        b.AppendLine("G — allocations per appended / loaded / read event (bytes, median over runs):");
        b.AppendLine();
        b.AppendLine("| | library | raw Npgsql | naive EF |");
        b.AppendLine("|---|---:|---:|---:|");
        foreach (var r in results.Where(r => r.Id is "A" or "B" or "C" or "E2" or "F"))
        {
            b.AppendLine(Inv, $"| {r.Id} | {Bytes(r, Bench.Library)} | {Bytes(r, Bench.Raw)} | {Bytes(r, Bench.Naive)} |");
        }

        foreach (var r in results.Where(r => r.Note is not null))
        {
            b.AppendLine();
            b.AppendLine(Inv, $"{r.Id}: {r.Note}");
        }

        return b.ToString();
    }

    private static string Rate(ScenarioResult r, string variant)
        => r.Samples.ContainsKey(variant) ? r.MedianRate(variant).ToString("N0", Inv) : "–";

    private static string Latency(ScenarioResult r, string variant)
        => r.Samples.ContainsKey(variant) ? $"{r.Percentile(variant, 50).ToString(Fmt(r.Percentile(variant, 50)), Inv)} / {r.Percentile(variant, 99).ToString(Fmt(r.Percentile(variant, 99)), Inv)}" : "–";

    private static string Fmt(double ms) => ms < 10 ? "0.00" : ms < 100 ? "0.0" : "0";

    private static string Bytes(ScenarioResult r, string variant)
        => r.Samples.ContainsKey(variant) ? r.BytesPerUnit(variant).ToString("N0", Inv) : "–";

    private static string Csv(IReadOnlyList<ScenarioResult> results)
    {
        var b = new StringBuilder("id,scenario,variant,unit,runs,median_rate,p50_ms,p99_ms,ratio_to_raw,bytes_per_unit,median_retries,target,met\n");
        foreach (var r in results)
        {
            foreach (var v in Bench.Variants.Where(r.Samples.ContainsKey))
            {
                b.AppendLine(string.Join(',',
                    r.Id,
                    '"' + r.Title + '"',
                    v,
                    r.Unit,
                    r.Samples[v].Count.ToString(Inv),
                    r.MedianRate(v).ToString("0.0", Inv),
                    r.Percentile(v, 50).ToString("0.000", Inv),
                    r.Percentile(v, 99).ToString("0.000", Inv),
                    r.Ratio(v).ToString("0.000", Inv),
                    r.BytesPerUnit(v).ToString("0", Inv),
                    r.MedianRetries(v).ToString("0", Inv),
                    '"' + (r.Target?.Text ?? "") + '"',
                    v == Bench.Library ? (r.Met?.ToString() ?? "") : ""));
            }
        }

        return b.ToString();
    }
}
