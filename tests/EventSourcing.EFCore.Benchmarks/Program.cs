using System.Diagnostics;
using EventSourcing.EFCore.Benchmarks;
using Npgsql;

// EventSourcing.EFCore benchmark: the library against the raw Npgsql ceiling and a naive EF Core mapping.
//   dotnet run -c Release --project tests/EventSourcing.EFCore.Benchmarks -- [--quick] [--runs R] [--alloc-profile] [--connection <cs>] [--out <dir>] [--only A,B,…] [--listen]
// --listen attaches an ActivityListener and a MeterListener to the library's source and meter (the cost of being observed).
// Normally started by eng/bench.sh, which also starts a throwaway PostgreSQL.
var settings = BenchSettings.Full;
var connection = Environment.GetEnvironmentVariable("EVENTSOURCING_BENCH_POSTGRES");
var output = Path.Combine("artifacts", "bench");
HashSet<string>? only = null;
int? runs = null;
var listen = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--quick": settings = BenchSettings.Quick; break;
        case "--connection": connection = args[++i]; break;
        case "--out": output = args[++i]; break;
        case "--alloc-profile": AllocationSampler.Instance = new AllocationSampler(); break;
        case "--runs": runs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--only": only = args[++i].Split(',').Select(s => s.Trim().ToUpperInvariant()).ToHashSet(); break;
        case "--listen": listen = true; break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}; usage: [--quick] [--runs R] [--alloc-profile] [--connection <cs>] [--out <dir>] [--only A,B,C,D,D1,D2,E,E1..E4,F,H,I,J,U] [--listen]");
            return 2;
    }
}

string[] scenarios = ["A", "B", "C", "D", "D1", "D2", "E", "E1", "E2", "E3", "E4", "F", "H", "I", "J", "U"];
if (only?.FirstOrDefault(s => !scenarios.Contains(s)) is { } unknown)
{
    Console.Error.WriteLine($"--only: unknown scenario {unknown}; known: {string.Join(',', scenarios)}");
    return 2;
}

if (runs is { } r)
{
    if (r < 1)
    {
        Console.Error.WriteLine("--runs needs a positive number of runs per variant.");
        return 2;
    }

    settings = settings.WithRuns(r);
}

if (string.IsNullOrWhiteSpace(connection))
{
    Console.Error.WriteLine("Set EVENTSOURCING_BENCH_POSTGRES or pass --connection (eng/bench.sh starts a throwaway server).");
    return 2;
}

// A scenario is wanted when named, when its group is named (D runs D1 and D2, E runs E1–E4), and a group when one of its
// scenarios is named.
bool Wanted(string id) => only is null || only.Contains(id) || only.Contains(id[..1]) || only.Any(s => s.Length > 1 && s[..1] == id);

using var listener = listen ? new BenchListener() : null;

var total = Stopwatch.StartNew();
var machine = Report.Machine();
string postgres;
await using (var server = NpgsqlDataSource.Create(connection))
{
    await using var command = server.CreateCommand(
        "SELECT split_part(version(), ' on ', 1) || '; fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit')"
        + " || ', full_page_writes=' || current_setting('full_page_writes') || ', wal_sync_method=' || current_setting('wal_sync_method')"
        + " || ', shared_buffers=' || current_setting('shared_buffers')");
    postgres = (string)(await command.ExecuteScalarAsync())!;
}

Console.WriteLine($"EventSourcing.EFCore benchmark, {settings.Mode} run");
Console.WriteLine($"  {machine}");
Console.WriteLine($"  {postgres}");
var results = new List<ScenarioResult>();

if (Wanted("A") || Wanted("B") || Wanted("D") || Wanted("J"))
{
    await using var db = await BenchDatabase.CreateAsync(connection, "es_bench_append");
    var appends = new AppendScenarios(db, settings);
    if (Wanted("A"))
    {
        results.Add(await appends.SingleEventAsync());
    }

    if (Wanted("B"))
    {
        results.Add(await appends.BatchAsync());
    }

    if (Wanted("D1"))
    {
        results.Add(await appends.ConcurrentOwnStreamsAsync());
    }

    if (Wanted("D2"))
    {
        results.Add(await appends.ConcurrentHotStreamAsync());
    }

    if (Wanted("J"))
    {
        results.Add(await appends.ConcurrentAnyAsync());
    }
}

if (Wanted("E") || Wanted("F"))
{
    await using var db = await BenchDatabase.CreateAsync(connection, "es_bench_read");
    var reads = new ReadScenarios(db, settings);
    await reads.SeedAsync();
    if (Wanted("E"))
    {
        results.AddRange(await reads.LoadsAsync(Wanted));
    }

    if (Wanted("F"))
    {
        results.Add(await reads.ReadAllAsync());
    }
}

if (Wanted("U"))
{
    await using var db = await BenchDatabase.CreateAsync(connection, "es_bench_upcast");
    results.Add(await new UpcastScenario(db, settings).RunAsync());
}

if (Wanted("H"))
{
    await using var db = await BenchDatabase.CreateAsync(connection, "es_bench_catchup");
    results.Add(await new CatchUpScenario(db, settings).RunAsync());
}

if (Wanted("I"))
{
    await using var db = await BenchDatabase.CreateAsync(connection, "es_bench_outbox");
    results.Add(await new OutboxScenario(db, settings).RunAsync());
}

if (Wanted("C"))
{
    await using var db = await BenchDatabase.CreateAsync(connection, "es_bench_import");
    results.Add(await new ImportScenario(db, settings).RunAsync());
}

if (listener is not null)
{
    Console.WriteLine($"  {listener.Summary}");
}

results.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
Report.Write(output, settings, machine, postgres, results, total.Elapsed);
return 0;
