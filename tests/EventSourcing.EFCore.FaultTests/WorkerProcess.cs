using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>
/// The child-process driver: starts <c>EventSourcing.EFCore.FaultTests.Worker</c> (built next to this project) with
/// <c>dotnet</c>, follows its "ready / begin n / done n / skip n" lines, and kills it with SIGKILL.
/// </summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _firstFinished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<long> _done = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastBegun = -1;

    private WorkerProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _errors.Enqueue(e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>
    /// Gets the path of the worker's assembly: <c>EVENTSOURCING_FAULT_WORKER</c> when set (eng/test.sh publishes a
    /// ReadyToRun build there, which starts in half the time), otherwise the build next to this test assembly.
    /// </summary>
    public static string WorkerAssembly { get; } = Environment.GetEnvironmentVariable("EVENTSOURCING_FAULT_WORKER") is { Length: > 0 } published
        ? published
        : Path.Combine(
        AppContext.BaseDirectory.Replace("EventSourcing.EFCore.FaultTests" + Path.DirectorySeparatorChar, "EventSourcing.EFCore.FaultTests.Worker" + Path.DirectorySeparatorChar, StringComparison.Ordinal),
        "EventSourcing.EFCore.FaultTests.Worker.dll");

    /// <summary>Gets the units whose commit the worker reported ("done", or "skip": already committed by an earlier run).</summary>
    public IReadOnlyCollection<long> Finished => [.. _done];

    /// <summary>Gets the last unit the worker began (-1 if none).</summary>
    public long LastBegun => Interlocked.Read(ref _lastBegun);

    /// <summary>Gets the time from start to the first finished unit, once there is one.</summary>
    public TimeSpan? FirstFinishedAfter { get; private set; }

    public Task Ready => _ready.Task;

    public Task FirstFinished => _firstFinished.Task;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Errors => string.Join(Environment.NewLine, _errors);

    public static WorkerProcess Start(string connectionString, long firstUnit, long count, int accounts)
    {
        if (!File.Exists(WorkerAssembly))
        {
            throw new InvalidOperationException($"The worker is not built: {WorkerAssembly} (build the solution, or tests/EventSourcing.EFCore.FaultTests).");
        }

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(WorkerAssembly)!,
        };
        foreach (var argument in new[] { WorkerAssembly, connectionString, Invariant(firstUnit), Invariant(count), Invariant(accounts) })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_TieredPGO"] = "0";
        return new WorkerProcess(Process.Start(start) ?? throw new InvalidOperationException("Could not start the worker."));
    }

    /// <summary>Sends SIGKILL (no cleanup, no finally blocks, sockets cut) and waits for the process to be gone.</summary>
    public async Task KillAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // it had already exited
        }

        await _process.WaitForExitAsync();
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
    }

    public void Dispose() => _process.Dispose();

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    private void OnLine(string? line)
    {
        if (line is null)
        {
            _ready.TrySetException(new InvalidOperationException("The worker exited before it was ready: " + Errors));
            return;
        }

        var parts = line.Split(' ');
        switch (parts[0])
        {
            case "ready":
                _ready.TrySetResult();
                break;
            case "begin":
                Interlocked.Exchange(ref _lastBegun, long.Parse(parts[1], CultureInfo.InvariantCulture));
                break;
            case "done" or "skip":
                _done.Enqueue(long.Parse(parts[1], CultureInfo.InvariantCulture));
                if (FirstFinishedAfter is null)
                {
                    FirstFinishedAfter = _clock.Elapsed;
                    _firstFinished.TrySetResult();
                }

                break;
        }
    }
}
