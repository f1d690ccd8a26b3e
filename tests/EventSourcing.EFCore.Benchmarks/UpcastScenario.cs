using System.Globalization;
using System.Text.Json.Nodes;
using EventSourcing.EFCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;
using NpgsqlTypes;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>
/// Scenario U (event schema evolution): aggregate load of 10,000 events of which half were stored at version 1 of
/// <c>bench.deposited</c> and go through a 2-step JSON upcast (1 → 2 renames "amt", 2 → 3 renames "ref"), against the
/// same load of a stream stored at the current version 3 (no upcast), with the same options. Reported as the time
/// ratio (goal ≤ 1.3×) and the extra allocation per upcast event.
/// </summary>
public sealed class UpcastScenario(BenchDatabase db, BenchSettings settings)
{
    public const string NoUpcast = "library, no upcast";

    private const int Size = 10_000;
    private const string Columns = "stream_type, stream_id, sequence, event_id, event_type, event_version, payload, metadata, created_at";

    public async Task<ScenarioResult> RunAsync()
    {
        var upcast = Guid.CreateVersion7();
        var current = Guid.CreateVersion7();
        await CopyAsync(upcast, halfOld: true);
        await CopyAsync(current, halfOld: false);
        await db.AnalyzeAsync();

        var options = new DbContextOptionsBuilder<LibraryDbContext>()
            .UseNpgsql(db.ConnectionString)
            .UseEventSourcing(Configure)
            .Options;
        var factory = new PooledDbContextFactory<LibraryDbContext>(options);
        var loads = Math.Max(5, settings.LoadsPerRun(Size));
        var result = new ScenarioResult("U", $"aggregate load, {Size:N0} events, half with a 2-step JSON upcast", "events/s", target: null, timeRatio: true);
        await Bench.RunAsync(result, settings.LoadRuns, [Loads(Bench.Library, factory, upcast, loads), Loads(NoUpcast, factory, current, loads)]);

        var ratio = Stats.Median(result.Samples[NoUpcast].Zip(result.Samples[Bench.Library], (n, u) => n.Rate / u.Rate));
        var perUpcast = (result.BytesPerUnit(Bench.Library) - result.BytesPerUnit(NoUpcast)) * 2; // half the events are upcast
        result.Note = string.Create(
            CultureInfo.InvariantCulture,
            $"load time with upcasts / without: {ratio:0.00}× (goal ≤ 1.3×: {(ratio <= 1.3 ? "met" : "**not met**")}); "
            + $"{result.MedianRate(NoUpcast):N0} events/s without, {result.MedianRate(Bench.Library):N0} with; allocated per loaded event "
            + $"{result.BytesPerUnit(NoUpcast):N0} B without, {result.BytesPerUnit(Bench.Library):N0} B with: {perUpcast:N0} B more per upcast event.");
        Console.WriteLine($"  U: {result.Note}");
        return result;
    }

    /// <summary>The current release: Deposited at version 3 with its JSON upcasters, Withdrawn unchanged.</summary>
    private static void Configure(EventSourcingDbContextOptionsBuilder es)
        => es.UsePostgreSql()
            .UseJsonSerializerOptions(BenchEvents.Json)
            .MapEvent<Deposited>(BenchEvents.DepositedName, 3)
            .MapEvent<Withdrawn>(BenchEvents.WithdrawnName)
            .Upcast(BenchEvents.DepositedName, 1, 2, json => Rename(json, "amt", "amount"))
            .Upcast(BenchEvents.DepositedName, 2, 3, json => Rename(json, "ref", "reference"));

    private static JsonNode Rename(JsonNode json, string from, string to)
    {
        var o = json.AsObject();
        var value = o[from];
        o.Remove(from);
        o[to] = value;
        return o;
    }

    /// <summary>Writes one stream of Deposited events: odd versions in the version-1 shape when <paramref name="halfOld"/>, the rest current.</summary>
    private async Task CopyAsync(Guid id, bool halfOld)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        await using var writer = await connection.BeginBinaryImportAsync($"COPY es_events ({Columns}) FROM STDIN (FORMAT BINARY)");
        var now = DateTimeOffset.UtcNow;
        for (var n = 1; n <= Size; n++)
        {
            var old = halfOld && n % 2 == 1;
            var reference = "D-" + n.ToString(CultureInfo.InvariantCulture);
            var payload = old
                ? $$"""{"accountId":"{{id}}","amt":10.5,"ref":"{{reference}}"}"""
                : BenchEvents.Serialize(new Deposited(id, 10.5m, reference));
            await writer.StartRowAsync();
            await writer.WriteAsync(BenchEvents.StreamType, NpgsqlDbType.Text);
            await writer.WriteAsync(id.ToString(), NpgsqlDbType.Text);
            await writer.WriteAsync((long)n, NpgsqlDbType.Bigint);
            await writer.WriteAsync(Guid.CreateVersion7(), NpgsqlDbType.Uuid);
            await writer.WriteAsync(BenchEvents.DepositedName, NpgsqlDbType.Text);
            await writer.WriteAsync(old ? 1 : 3, NpgsqlDbType.Integer);
            await writer.WriteAsync(payload, NpgsqlDbType.Jsonb);
            await writer.WriteNullAsync();
            await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
        }

        await writer.CompleteAsync();
    }

    private static Variant Loads(string name, PooledDbContextFactory<LibraryDbContext> factory, Guid id, int loads)
        => ReadScenarios.Loads(name, Size, loads, async () =>
        {
            await using var context = factory.CreateDbContext();
            var account = await context.Aggregates<Account>().LoadAsync(id);
            return account.Balance == Size * 10.5m ? account.Operations : -1; // a wrong upcast shows as a wrong count
        });
}
