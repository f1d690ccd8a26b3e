using System.Diagnostics;
using EventSourcing.EFCore.FaultTests.Worker;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>
/// The suite's OWN throwaway PostgreSQL cluster (<c>eng/postgres.sh start</c> in a temporary directory), never the shared
/// one that <c>EVENTSOURCING_TEST_POSTGRES</c> points at, because the restart scenario restarts the server. Started once
/// for the run, stopped (and its directory removed) at the end, when the figures table is printed and written.
/// </summary>
[SetUpFixture]
public sealed class FaultCluster
{
    private static string? _directory;
    private static string? _connectionString;
    private static string? _binDirectory;

    /// <summary>Gets the repository root (the directory holding <c>EventSourcing.EFCore.sln</c>).</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Gets the connection string of the cluster's maintenance database.</summary>
    public static string ConnectionString => _connectionString ?? throw new InvalidOperationException("The fault cluster is not started.");

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "es-faults-" + Guid.NewGuid().ToString("N")[..8]);
        var started = await Shell.RunAsync("bash", [Path.Combine(RepositoryRoot, "eng", "postgres.sh"), "start", _directory], RepositoryRoot);
        _connectionString = started.Trim().Split('\n')[^1].Trim();
        _binDirectory = (await Shell.RunAsync("bash", [Path.Combine(RepositoryRoot, "eng", "postgres.sh"), "bindir"], RepositoryRoot)).Trim();

        // eng/postgres.sh turns synchronous_commit off for speed. An immediate restart then loses commits the server had
        // already acknowledged (their WAL was still in the server's buffers), which says nothing about the library:
        // this cluster commits durably. (fsync stays off: a killed server process does not lose the OS page cache.)
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using (var command = new NpgsqlCommand("ALTER SYSTEM SET synchronous_commit = on", connection))
        {
            await command.ExecuteNonQueryAsync();
        }

        await using (var reload = new NpgsqlCommand("SELECT pg_reload_conf()", connection))
        {
            await reload.ExecuteNonQueryAsync();
        }

        TestContext.Progress.WriteLine($"fault suite: own PostgreSQL cluster in {_directory}; seed {FaultScale.Seed} (EVENTSOURCING_FAULT_SEED replays it); {(FaultScale.Long ? "long" : "short")} version");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        FaultFigures.Publish();
        NpgsqlConnection.ClearAllPools();
        if (_directory is not null)
        {
            await Shell.RunAsync("bash", [Path.Combine(RepositoryRoot, "eng", "postgres.sh"), "stop", _directory], RepositoryRoot);
        }
    }

    /// <summary>
    /// Restarts the server with <c>pg_ctl restart -m immediate</c> (every backend dies at once, as in a crash; the server
    /// runs crash recovery on start) and returns when it accepts connections again.
    /// </summary>
    public static async Task RestartImmediateAsync()
    {
        var data = Path.Combine(_directory!, "data");
        string[] pgCtl = [Path.Combine(_binDirectory!, "pg_ctl"), "-D", data, "-l", Path.Combine(_directory!, "postgres.log"), "-m", "immediate", "-w", "-t", "60", "-s", "restart"];
        if (Environment.UserName == "root")
        {
            await Shell.RunAsync("runuser", ["-u", "postgres", "--", .. pgCtl], "/");
        }
        else
        {
            await Shell.RunAsync(pgCtl[0], pgCtl[1..], "/");
        }
    }

    /// <summary>Creates a new database on the cluster with the fault model's schema (EnsureCreated: tables, indexes, stream guard).</summary>
    public static async Task<string> CreateDatabaseAsync(string scenario)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "faults_" + scenario + "_" + Guid.NewGuid().ToString("N")[..6] }.ConnectionString;
        await using var db = new FaultDbContext(FaultStore.CreateOptions(connectionString));
        await db.Database.EnsureCreatedAsync();
        return connectionString;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EventSourcing.EFCore.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (EventSourcing.EFCore.sln) is not above " + AppContext.BaseDirectory);
    }
}

/// <summary>Runs a command to completion and returns its standard output; throws with its standard error when it fails.</summary>
public static class Shell
{
    public static async Task<string> RunAsync(string file, IEnumerable<string> arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + file);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}");
        }

        return await output;
    }
}
