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

        string load = "";
        try
        {
            load = "; load average at start " + string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
        }

        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        return $"{cpu}, {Environment.ProcessorCount} cores, {memory:0} GiB RAM, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}{load}";
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
        b.AppendLine("- Method: each scenario runs its variants in one process, two warm-up runs each, then R rounds of one run per variant,");
        b.AppendLine("  interleaved (the order rotated each round). library/raw is the median of the per-run ratios (run i: library_i / raw_i),");
        b.AppendLine("  with their interquartile range; \"spread too wide to judge\" marks a scenario whose quartiles lie more than ±0.05 from");
        b.AppendLine("  the median. Event creation and JSON (de)serialization are timed for every variant. Client CPU is the benchmark");
        b.AppendLine("  process's user + system time (all its threads, so background threads count too) per event; allocations are");
        b.AppendLine("  GC.GetTotalAllocatedBytes(precise) per event; both are medians over runs, their ratios medians of per-run ratios.");
        b.AppendLine();
        b.AppendLine("| | scenario | R | library | raw Npgsql | naive EF | library/raw (IQR) | naive/raw | target | met |");
        b.AppendLine("|---|---|---:|---:|---:|---:|---|---:|---|---|");
        foreach (var r in results)
        {
            var met = r.Met switch
            {
                null => "–",
                _ when r.Target?.MaxLibraryP50Ms is null && r.SpreadTooWide(Bench.Library) => r.Met == true ? "yes (spread too wide to judge)" : "**no** (spread too wide to judge)",
                true => "yes",
                false => "**no**",
            };
            var naive = r.Samples.ContainsKey(Bench.Naive) ? $"{r.Ratio(Bench.Naive):0.00}" : "–";
            var runs = r.Samples.TryGetValue(Bench.Library, out var s) ? s.Count : 0;
            b.AppendLine(Inv, $"| {r.Id} | {r.Title} | {runs} | {Rate(r, Bench.Library)} | {Rate(r, Bench.Raw)} | {Rate(r, Bench.Naive)} | {RatioText(r)} | {naive} | {r.Target?.Text ?? "–"} | {met} |");
        }

        b.AppendLine();
        b.AppendLine("Rates are events/s (loads: events replayed per second; H: events applied per second; I: messages dispatched per second).");
        b.AppendLine();
        b.AppendLine("Client CPU per event (µs) and allocations per event (bytes), medians over runs; lib/raw = median of per-run ratios:");
        b.AppendLine();
        b.AppendLine("| | CPU library | CPU raw | CPU naive | CPU lib/raw | alloc library | alloc raw | alloc naive | alloc lib/raw |");
        b.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            b.AppendLine(Inv,
                $"| {r.Id} | {Cpu(r, Bench.Library)} | {Cpu(r, Bench.Raw)} | {Cpu(r, Bench.Naive)} | {Ratio(r.CpuRatio(Bench.Library))} | {Bytes(r, Bench.Library)} | {Bytes(r, Bench.Raw)} | {Bytes(r, Bench.Naive)} | {Ratio(r.BytesRatio(Bench.Library))} |");
        }

        foreach (var r in results)
        {
            foreach (var v in r.Samples.Keys.Where(v => v is not (Bench.Library or Bench.Raw or Bench.Naive)))
            {
                var (low, high) = r.RatioQuartiles(v);
                b.AppendLine();
                var toRaw = r.Samples.ContainsKey(Bench.Raw) ? $"; /raw {Ratio(r.Ratio(v))} ({Ratio(low)}–{Ratio(high)})" : "";
                b.AppendLine(Inv,
                    $"{r.Id}, variant \"{v}\": {r.MedianRate(v):N0} {r.Unit}{toRaw}; CPU {r.CpuPerUnit(v):0.0} µs, {r.BytesPerUnit(v):N0} B allocated per unit; p50 / p99 {Latency(r, v)} ms.");
            }
        }

        b.AppendLine();
        b.AppendLine("Latency per operation (one SaveChanges, one load, one page, one catch-up or dispatch batch), p50 / p99 in ms:");
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

        foreach (var r in results.Where(r => r.Note is not null))
        {
            b.AppendLine();
            b.AppendLine(Inv, $"{r.Id}: {r.Note}");
        }

        return b.ToString();
    }

    /// <summary>The median library/raw ratio with its interquartile range (and the time ratio for loads).</summary>
    private static string RatioText(ScenarioResult r)
    {
        var ratio = r.Ratio(Bench.Library);
        if (double.IsNaN(ratio))
        {
            return "– (see note)";
        }

        var (low, high) = r.RatioQuartiles(Bench.Library);
        var text = r.TimeRatio
            ? string.Create(Inv, $"{ratio:0.00} ({low:0.00}–{high:0.00}), time {1 / ratio:0.00}× ({1 / high:0.00}–{1 / low:0.00})")
            : string.Create(Inv, $"{ratio:0.00} ({low:0.00}–{high:0.00})");
        return r.SpreadTooWide(Bench.Library) ? text + " spread too wide to judge" : text;
    }

    private static string Ratio(double ratio) => double.IsNaN(ratio) ? "–" : ratio.ToString("0.00", Inv);

    private static string Cpu(ScenarioResult r, string variant)
        => r.Samples.ContainsKey(variant) ? r.CpuPerUnit(variant).ToString(r.CpuPerUnit(variant) < 10 ? "0.00" : "N1", Inv) : "–";

    private static string Rate(ScenarioResult r, string variant)
        => r.Samples.ContainsKey(variant) ? r.MedianRate(variant).ToString("N0", Inv) : "–";

    private static string Latency(ScenarioResult r, string variant)
        => r.Samples.ContainsKey(variant) ? $"{r.Percentile(variant, 50).ToString(Fmt(r.Percentile(variant, 50)), Inv)} / {r.Percentile(variant, 99).ToString(Fmt(r.Percentile(variant, 99)), Inv)}" : "–";

    private static string Fmt(double ms) => ms < 10 ? "0.00" : ms < 100 ? "0.0" : "0";

    private static string Bytes(ScenarioResult r, string variant)
        => r.Samples.ContainsKey(variant) ? r.BytesPerUnit(variant).ToString("N0", Inv) : "–";

    private static string Csv(IReadOnlyList<ScenarioResult> results)
    {
        var b = new StringBuilder("id,scenario,variant,unit,runs,median_rate,p50_ms,p99_ms,ratio_to_raw,ratio_q1,ratio_q3,spread_too_wide,cpu_us_per_unit,cpu_ratio_to_raw,bytes_per_unit,bytes_ratio_to_raw,median_retries,target,met\n");
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
                    r.RatioQuartiles(v).Low.ToString("0.000", Inv),
                    r.RatioQuartiles(v).High.ToString("0.000", Inv),
                    v == Bench.Raw ? "" : r.SpreadTooWide(v).ToString(Inv),
                    r.CpuPerUnit(v).ToString("0.00", Inv),
                    r.CpuRatio(v).ToString("0.000", Inv),
                    r.BytesPerUnit(v).ToString("0", Inv),
                    r.BytesRatio(v).ToString("0.000", Inv),
                    r.MedianRetries(v).ToString("0", Inv),
                    '"' + (r.Target?.Text ?? "") + '"',
                    v == Bench.Library ? (r.Met?.ToString() ?? "") : ""));
            }
        }

        return b.ToString();
    }
}
