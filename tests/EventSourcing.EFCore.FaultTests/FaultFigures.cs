using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using NUnit.Framework;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>One row of the figures table.</summary>
/// <param name="Scenario">What was done.</param>
/// <param name="Iterations">How many faults were injected (kills, restarts, terminations, garbage inputs).</param>
/// <param name="Units">Units of work committed (or inputs sent) during the scenario.</param>
/// <param name="Lost">Acknowledged work missing afterwards (events, rows, deliveries, applies).</param>
/// <param name="Duplicated">Work present more than once (outbox re-deliveries, which at-least-once allows, are counted here too).</param>
/// <param name="Torn">Units of work partially written, or reads that saw a partial state.</param>
/// <param name="Untyped">Errors that were neither a typed library exception nor a transient/connection error.</param>
/// <param name="Recovery">Recovery times in milliseconds (empty when the scenario has none).</param>
/// <param name="Note">What "recovery" measures, or other context.</param>
public sealed record FigureRow(string Scenario, int Iterations, long Units, long Lost, long Duplicated, long Torn, long Untyped, IReadOnlyList<double> Recovery, string Note);

/// <summary>
/// Collects the figures of every scenario and prints them as one table at the end of the run (to the test output, through
/// <see cref="TestContext.Progress"/>) and writes it to <c>artifacts/fault-figures.md</c>.
/// </summary>
public static class FaultFigures
{
    private static readonly ConcurrentQueue<FigureRow> Rows = new();

    public static void Record(FigureRow row)
    {
        Rows.Enqueue(row);
        TestContext.Progress.WriteLine("fault figures: " + Format(row));
    }

    public static void Publish()
    {
        if (Rows.IsEmpty)
        {
            return;
        }

        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"Fault suite ({(FaultScale.Long ? "eng/test.sh --long" : "eng/test.sh")}, seed {FaultScale.Seed}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        table.AppendLine();
        table.AppendLine("| scenario | iterations | units of work | lost | duplicated | torn | untyped errors | recovery p50 | recovery p99 | recovery measures |");
        table.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var row in Rows)
        {
            table.AppendLine(Format(row));
        }

        var text = table.ToString();
        TestContext.Progress.WriteLine();
        TestContext.Progress.WriteLine(text);
        var artifacts = Path.Combine(FaultCluster.RepositoryRoot, "artifacts");
        Directory.CreateDirectory(artifacts);
        File.WriteAllText(Path.Combine(artifacts, FaultScale.Long ? "fault-figures-long.md" : "fault-figures.md"), text);
    }

    public static double Percentile(IReadOnlyList<double> values, double percentile)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    private static string Format(FigureRow row)
        => string.Create(
            CultureInfo.InvariantCulture,
            $"| {row.Scenario} | {row.Iterations} | {row.Units} | {row.Lost} | {row.Duplicated} | {row.Torn} | {row.Untyped} | {Ms(Percentile(row.Recovery, 50))} | {Ms(Percentile(row.Recovery, 99))} | {row.Note} |");

    private static string Ms(double value) => double.IsNaN(value) ? "—" : value.ToString("0", CultureInfo.InvariantCulture) + " ms";
}
