using System.Diagnostics;
using System.Globalization;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// The entry point of this test assembly (the test SDK's generated one is turned off): with the verb
/// <see cref="Verb"/> it runs an outbox dispatcher in its own process, so that tests can kill it with SIGKILL mid-publish.
/// Every message its publisher accepts is written to stdout as <c>P messageId streamType streamId version attempt timestamp</c>
/// before the publish returns; a hang is announced as <c>H messageId version attempt</c>.
/// </summary>
public static class OutboxChildDispatcher
{
    public const string Verb = "outbox-child-dispatcher";

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] != Verb)
        {
            return 0;
        }

        var options = args.Skip(1).Chunk(2).ToDictionary(p => p[0], p => p[1]);
        var connectionString = options["--connection"];
        var maxAttempts = int.Parse(options["--max-attempts"], CultureInfo.InvariantCulture);
        var lease = TimeSpan.FromMilliseconds(int.Parse(options["--lease-ms"], CultureInfo.InvariantCulture));
        var timeout = TimeSpan.FromMilliseconds(int.Parse(options["--publish-timeout-ms"], CultureInfo.InvariantCulture));
        var failRate = double.Parse(options.GetValueOrDefault("--fail-rate", "0"), CultureInfo.InvariantCulture);
        var hangRate = double.Parse(options.GetValueOrDefault("--hang-rate", "0"), CultureInfo.InvariantCulture);
        var hangOnVersion = long.Parse(options.GetValueOrDefault("--hang-on-version", "0"), CultureInfo.InvariantCulture);
        var hangOnStream = options.GetValueOrDefault("--hang-on-stream");
        var batchSize = int.Parse(options.GetValueOrDefault("--batch-size", "100"), CultureInfo.InvariantCulture);
        var exitWhenIdle = options.GetValueOrDefault("--exit-when-idle") == "1";

        var builder = new DbContextOptionsBuilder<TestDbContext>().UseNpgsql(connectionString);
        builder.UseEventSourcing(es => es
            .AddEvents(typeof(TestDbContext).Assembly)
            .UsePostgreSql()
            .UseOutbox(o => o.PublishAll("events").MaxAttempts(maxAttempts).RetryBackoff(TimeSpan.Zero, TimeSpan.FromMilliseconds(200)).LeaseFor(lease).PublishTimeout(timeout).BatchSize(batchSize)));
        var publisher = new ChildPublisher(failRate, hangRate, hangOnVersion, hangOnStream);
        Console.Out.WriteLine("READY");
        Console.Out.Flush();
        while (true)
        {
            await using var db = new TestDbContext(builder.Options);
            var published = await db.Outbox().DispatchPendingAsync(publisher);
            if (published == 0)
            {
                if (exitWhenIdle)
                {
                    return 0;
                }

                await Task.Delay(10);
            }
        }
    }

    private sealed class ChildPublisher(double failRate, double hangRate, long hangOnVersion, string? hangOnStream) : IOutboxPublisher
    {
        private static readonly Lock Output = new();

        public async Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken)
        {
            var version = message.Headers[OutboxHeaders.Version];
            if ((long.Parse(version, CultureInfo.InvariantCulture) == hangOnVersion && (hangOnStream is null || hangOnStream == message.StreamId.Id))
                || Random.Shared.NextDouble() < hangRate)
            {
                Write($"H {message.MessageId} {version} {message.Attempt}");
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            if (Random.Shared.NextDouble() < failRate)
            {
                throw new IOException("broker rejected the message");
            }

            // Stopwatch timestamps are CLOCK_MONOTONIC, comparable across processes on one machine: the parent orders by them.
            Write($"P {message.MessageId} {message.StreamId.Type} {message.StreamId.Id} {version} {message.Attempt} {Stopwatch.GetTimestamp()}");
        }

        private static void Write(string line)
        {
            lock (Output)
            {
                Console.Out.WriteLine(line);
                Console.Out.Flush();
            }
        }
    }
}

/// <summary>A child dispatcher process started by a test; its stdout lines are collected as they arrive.</summary>
public sealed class ChildDispatcherProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildDispatcherProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            if (e.Data == "READY")
            {
                _ready.TrySetResult();
                return;
            }

            lock (_lines)
            {
                _lines.Add(e.Data);
            }
        };
        process.BeginOutputReadLine();
    }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Starts this test assembly as a dispatcher process with the given options (see <see cref="OutboxChildDispatcher"/>).</summary>
    public static async Task<ChildDispatcherProcess> StartAsync(string connectionString, string applicationName, params string[] options)
    {
        var connection = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = applicationName, MaxPoolSize = 5 }.ConnectionString;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(OutboxChildDispatcher).Assembly.Location);
        start.ArgumentList.Add(OutboxChildDispatcher.Verb);
        start.ArgumentList.Add("--connection");
        start.ArgumentList.Add(connection);
        foreach (var option in options)
        {
            start.ArgumentList.Add(option);
        }

        var child = new ChildDispatcherProcess(Process.Start(start)!);
        await child._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return child;
    }

    /// <summary>Waits until a collected line satisfies <paramref name="condition"/> (or fails after the timeout).</summary>
    public async Task WaitForLineAsync(Func<string, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Lines.Any(condition))
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException("the child dispatcher did not write the expected line; it wrote: " + string.Join(" | ", Lines.TakeLast(10)));
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Kills the process with SIGKILL (no cleanup runs in it) and waits for it to exit.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }

        _process.WaitForExit();
        _process.WaitForExit(); // flushes the asynchronous stdout reader
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }
}
