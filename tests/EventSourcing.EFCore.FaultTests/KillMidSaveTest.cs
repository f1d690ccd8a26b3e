using System.Diagnostics;
using EventSourcing.EFCore.FaultTests.Worker;
using NUnit.Framework;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>
/// Scenario 1, process killed mid-save: a child process runs units of work (two aggregates, a user row, snapshot
/// policy, inline projection, outbox route: one SaveChanges, sync and async alternately) and is SIGKILLed at a random
/// moment, again and again. After each kill the store is audited on PostgreSQL; each next run starts with the unit that
/// was in flight, so it reruns the same command.
/// </summary>
[TestFixture]
public sealed class KillMidSaveTest
{
    private const int Accounts = 12;
    private static readonly Lazy<Task<Result>> Run = new(RunAsync);

    private sealed record Result(int Kills, long Units, StoreAudit LastAudit, long TornAfterAnyKill, long LostAfterAnyKill, long DuplicatedAfterAnyKill,
        long Untyped, IReadOnlyList<string> Problems, IReadOnlyList<double> Recovery, int FinalRunExitCode, string FinalRunErrors, long FinalRunFinished);

    [Test]
    public async Task Kill_mid_save_leaves_every_unit_of_work_all_or_nothing()
    {
        var result = await Run.Value;
        Assert.Multiple(() =>
        {
            Assert.That(result.TornAfterAnyKill, Is.Zero, "units torn (partially written) after a kill:\n" + string.Join('\n', result.Problems));
            Assert.That(result.Untyped, Is.Zero, "worker runs that failed on their own:\n" + string.Join('\n', result.Problems));
        });
    }

    [Test]
    public async Task Kill_mid_save_loses_and_duplicates_nothing_acknowledged()
    {
        var result = await Run.Value;
        Assert.Multiple(() =>
        {
            Assert.That(result.LostAfterAnyKill, Is.Zero, "acknowledged units missing after a kill:\n" + string.Join('\n', result.Problems));
            Assert.That(result.DuplicatedAfterAnyKill, Is.Zero, "units written twice after a kill:\n" + string.Join('\n', result.Problems));
        });
    }

    [Test]
    public async Task Kill_mid_save_then_the_same_commands_run_again_to_completion()
    {
        var result = await Run.Value;
        Assert.Multiple(() =>
        {
            Assert.That(result.FinalRunExitCode, Is.Zero, "the rerun after the last kill failed: " + result.FinalRunErrors);
            Assert.That(result.FinalRunFinished, Is.EqualTo(20), "units the rerun finished");
            Assert.That(result.LastAudit.Torn + result.LastAudit.Lost + result.LastAudit.Duplicated, Is.Zero, string.Join('\n', result.LastAudit.Problems));
        });
    }

    private static async Task<Result> RunAsync()
    {
        var connectionString = await FaultCluster.CreateDatabaseAsync("kill");
        var random = new Random(FaultScale.Seed);
        var acknowledged = new HashSet<long>();
        var problems = new List<string>();
        var recovery = new List<double>();
        long torn = 0, lost = 0, duplicated = 0, untyped = 0, inFlight = 0, next = 0;
        var stopwatch = Stopwatch.StartNew();
        for (var kill = 0; kill < FaultScale.Kills; kill++)
        {
            using var worker = WorkerProcess.Start(connectionString, next, 0, Accounts);
            await worker.Ready.WaitAsync(TimeSpan.FromSeconds(120));

            // the moment: anywhere in the first few units of work (the first ones include model warm-up and reloads)
            await Task.WhenAny(worker.FirstFinished, Task.Delay(TimeSpan.FromSeconds(60)));
            await Task.Delay(random.Next(0, 150));
            if (worker.HasExited)
            {
                untyped++;
                problems.Add($"run {kill + 1}: the worker stopped on its own (exit code {worker.ExitCode}): {worker.Errors}");
            }

            await worker.KillAsync();
            if (worker.LastBegun >= 0 && !worker.Finished.Contains(worker.LastBegun))
            {
                inFlight++;
            }
            if (worker.FirstFinishedAfter is { } first)
            {
                recovery.Add(first.TotalMilliseconds);
            }

            foreach (var unit in worker.Finished)
            {
                acknowledged.Add(unit);
            }

            next = Math.Max(next, worker.LastBegun); // rerun the unit that was in flight: the same command again
            var audit = await StoreAudit.RunAsync(connectionString, acknowledged);
            torn += audit.Torn;
            lost += audit.Lost;
            duplicated += audit.Duplicated;
            problems.AddRange(audit.Problems.Select(p => $"after kill {kill + 1} (unit {worker.LastBegun} in flight): {p}"));
        }

        // the next run of the same commands succeeds: the in-flight unit and 19 more, to a clean exit
        using var final = WorkerProcess.Start(connectionString, next, 20, Accounts);
        await final.WaitForExitAsync(TimeSpan.FromSeconds(120));
        foreach (var unit in final.Finished)
        {
            acknowledged.Add(unit);
        }

        var last = await StoreAudit.RunAsync(connectionString, acknowledged);
        FaultFigures.Record(new FigureRow(
            "1. process SIGKILLed mid-save", FaultScale.Kills, last.Units, lost + last.Lost, duplicated + last.Duplicated, torn + last.Torn, untyped, recovery,
            $"child start to its first committed unit; {inFlight} kills hit a unit in flight; {stopwatch.Elapsed.TotalSeconds:0} s"));
        return new Result(FaultScale.Kills, last.Units, last, torn, lost, duplicated, untyped, problems, recovery, final.ExitCode, final.Errors, final.Finished.Count);
    }
}
