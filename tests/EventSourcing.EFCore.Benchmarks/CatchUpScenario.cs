using System.Diagnostics;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;
using NpgsqlTypes;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>
/// Scenario H: catch-up projection throughput. The store holds events of many accounts, interleaved so that consecutive
/// events belong to different accounts; the projection keeps one row per account (balance, operations), one row update
/// per event. Library: <c>db.Projections().CatchUpAsync</c> (pages of 500 events read below the read-all horizon, the
/// page's rows loaded in one query by the projection's prefetch hook, handlers that change the row through EF, one
/// SaveChanges per page with the checkpoint). Raw Npgsql: the same
/// visibility rule (rows whose transaction id is below <c>pg_snapshot_xmin(pg_current_snapshot())</c>, keyset paging on
/// (tx_id, position), pages of 500), one transaction per page with one prepared upsert per event and the checkpoint.
/// </summary>
public sealed class CatchUpScenario(BenchDatabase db, BenchSettings settings)
{
    public const string NoOpHandler = "library, no-op handler";
    public const int PageSize = 500;
    private const int Accounts = 1_000;
    private const string Columns = "stream_type, stream_id, sequence, event_id, event_type, event_version, payload, metadata, created_at";

    private const string RawPage = """
        SELECT tx_id::text::bigint, global_position, event_type, payload
          FROM es_events
         WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())
           AND (tx_id, global_position) > ($1::text::xid8, $2)
         ORDER BY tx_id, global_position
         LIMIT $3
        """;

    private const string RawUpsert = """
        INSERT INTO bench_balances (id, balance, operations) VALUES ($1, $2, 1)
        ON CONFLICT (id) DO UPDATE SET balance = bench_balances.balance + excluded.balance, operations = bench_balances.operations + 1
        """;

    private const string RawCheckpoint = """
        INSERT INTO bench_raw_checkpoint (name, tx_id, position) VALUES ('raw', $1, $2)
        ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id, position = excluded.position
        """;

    public async Task<ScenarioResult> RunAsync()
    {
        var options = new DbContextOptionsBuilder<ProjectionDbContext>()
            .UseNpgsql(db.ConnectionString)
            .UseEventSourcing(es => es.UsePostgreSql().AddEvents(typeof(Deposited).Assembly).UseJsonSerializerOptions(BenchEvents.Json).AddProjection<BalanceProjection>().AddProjection<NoOpProjection>())
            .Options;
        var factory = new PooledDbContextFactory<ProjectionDbContext>(options);
        await using (var context = factory.CreateDbContext())
        {
            // The benchmark database was created from the library's model; add the read model and the raw checkpoint.
            await context.Database.ExecuteSqlRawAsync(
                "CREATE TABLE bench_balances (id uuid PRIMARY KEY, balance numeric NOT NULL, operations bigint NOT NULL);"
                + "CREATE TABLE bench_raw_checkpoint (name text PRIMARY KEY, tx_id bigint NOT NULL, position bigint NOT NULL);");
        }

        await SeedAsync();
        var events = settings.CatchUpEvents;
        var result = new ScenarioResult(
            "H", $"catch-up projection, {events:N0} events, 1 row update per event, pages of {PageSize}", "events/s", new Target(0.5, "≥ 0.5"), timeRatio: false)
        {
            Note = "both variants read below the read-all horizon (tx_id < pg_snapshot_xmin) in (tx_id, position) order, pages of 500; "
                + "the library loads a page's account rows in one query (the projection's PrefetchAsync), each handler changes its row in the "
                + "change tracker, and the page is saved with one SaveChanges; "
                + "raw runs one prepared upsert per event; both commit the page and the checkpoint in one transaction. "
                + "The no-op handler variant runs the same catch-up with handlers that do nothing: the runner's own cost (read, decode, checkpoint).",
        };
        return await Bench.RunAsync(
            result,
            settings.CatchUpRuns,
            [
                Timed(Bench.Library, events, async () =>
                {
                    await using var context = factory.CreateDbContext();
                    return await context.Projections().CatchUpAsync(BalanceProjection.ProjectionName);
                }),
                Timed(Bench.Raw, events, RawCatchUpAsync),
                Timed(NoOpHandler, events, async () =>
                {
                    await using var context = factory.CreateDbContext();
                    return await context.Projections().CatchUpAsync(NoOpProjection.ProjectionName);
                }),
            ],
            _ => ResetAsync());
    }

    /// <summary>Writes the events with binary COPY, account by account in turn (event k belongs to account k mod 1,000).</summary>
    private async Task SeedAsync()
    {
        var accounts = Enumerable.Range(0, Accounts).Select(_ => Guid.CreateVersion7()).ToArray();
        await using var connection = await db.DataSource.OpenConnectionAsync();
        await using var writer = await connection.BeginBinaryImportAsync($"COPY es_events ({Columns}) FROM STDIN (FORMAT BINARY)");
        var now = DateTimeOffset.UtcNow;
        for (var k = 0; k < settings.CatchUpEvents; k++)
        {
            var account = accounts[k % Accounts];
            var sequence = (long)(k / Accounts) + 1;
            var e = BenchEvents.Create(account, sequence);
            await writer.StartRowAsync();
            await writer.WriteAsync(BenchEvents.StreamType, NpgsqlDbType.Text);
            await writer.WriteAsync(account.ToString(), NpgsqlDbType.Text);
            await writer.WriteAsync(sequence, NpgsqlDbType.Bigint);
            await writer.WriteAsync(Guid.CreateVersion7(), NpgsqlDbType.Uuid);
            await writer.WriteAsync(BenchEvents.NameOf(e), NpgsqlDbType.Text);
            await writer.WriteAsync(1, NpgsqlDbType.Integer);
            await writer.WriteAsync(BenchEvents.Serialize(e), NpgsqlDbType.Jsonb);
            await writer.WriteNullAsync();
            await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
        }

        await writer.CompleteAsync();
        await connection.CloseAsync();
        await db.AnalyzeAsync();
    }

    /// <summary>Empties the read model and both checkpoints, so that every run applies every event from the start.</summary>
    private async Task ResetAsync()
    {
        foreach (var sql in (string[])["TRUNCATE bench_balances, bench_raw_checkpoint", "DELETE FROM es_checkpoints", "VACUUM ANALYZE es_checkpoints"])
        {
            await using var command = db.DataSource.CreateCommand(sql);
            await command.ExecuteNonQueryAsync();
        }
    }

    private async Task<long> RawCatchUpAsync()
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        long tx = 0;
        long position = 0;
        await using (var read = new NpgsqlCommand("SELECT tx_id, position FROM bench_raw_checkpoint WHERE name = 'raw'", connection))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            if (await reader.ReadAsync())
            {
                (tx, position) = (reader.GetInt64(0), reader.GetInt64(1));
            }
        }

        await using var page = new NpgsqlCommand(RawPage, connection);
        var pageTx = new NpgsqlParameter<string> { TypedValue = "0" };
        var pagePosition = new NpgsqlParameter<long> { TypedValue = 0 };
        page.Parameters.Add(pageTx);
        page.Parameters.Add(pagePosition);
        page.Parameters.Add(new NpgsqlParameter<int> { TypedValue = PageSize });
        await using var upsert = new NpgsqlCommand(RawUpsert, connection);
        var id = new NpgsqlParameter<Guid>();
        var amount = new NpgsqlParameter<decimal>();
        upsert.Parameters.Add(id);
        upsert.Parameters.Add(amount);
        await using var checkpoint = new NpgsqlCommand(RawCheckpoint, connection);
        var checkpointTx = new NpgsqlParameter<long>();
        var checkpointPosition = new NpgsqlParameter<long>();
        checkpoint.Parameters.Add(checkpointTx);
        checkpoint.Parameters.Add(checkpointPosition);
        await page.PrepareAsync();
        await upsert.PrepareAsync();
        await checkpoint.PrepareAsync();

        long applied = 0;
        while (true)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            page.Transaction = upsert.Transaction = checkpoint.Transaction = transaction;
            pageTx.TypedValue = tx.ToString(CultureInfo.InvariantCulture);
            pagePosition.TypedValue = position;
            var rows = new List<(long Tx, long Position, object Event)>(PageSize);
            await using (var reader = await page.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    rows.Add((reader.GetInt64(0), reader.GetInt64(1), BenchEvents.Deserialize(reader.GetString(2), reader.GetString(3))));
                }
            }

            if (rows.Count == 0)
            {
                await transaction.CommitAsync();
                return applied;
            }

            foreach (var (_, _, e) in rows)
            {
                (id.TypedValue, amount.TypedValue) = e switch
                {
                    Deposited d => (d.AccountId, d.Amount),
                    Withdrawn w => (w.AccountId, -w.Amount),
                    _ => throw new InvalidOperationException("No handler for " + e.GetType()),
                };
                await upsert.ExecuteNonQueryAsync();
            }

            (tx, position) = (rows[^1].Tx, rows[^1].Position);
            checkpointTx.TypedValue = tx;
            checkpointPosition.TypedValue = position;
            await checkpoint.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
            applied += rows.Count;
        }
    }

    private Variant Timed(string name, int events, Func<Task<long>> catchUp)
        => new(name, async run =>
        {
            var sample = new RunSample();
            sample.Start();
            var t = Stopwatch.GetTimestamp();
            var applied = await catchUp();
            sample.AddLatency(Stopwatch.GetElapsedTime(t).TotalMilliseconds / Math.Max(1, (applied + PageSize - 1) / PageSize));
            sample.Stop();
            if (applied != events)
            {
                throw new InvalidOperationException($"{name} applied {applied} events, expected {events}.");
            }

            if (name != NoOpHandler)
            {
                await VerifyAsync(name);
            }
            sample.Units = applied;
            return sample;
        });

    /// <summary>Checks that the read model holds every account with the operations and balance its events give.</summary>
    private async Task VerifyAsync(string name)
    {
        await using var command = db.DataSource.CreateCommand("SELECT count(*), coalesce(sum(operations), 0)::bigint FROM bench_balances");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        var (rows, operations) = (reader.GetInt64(0), reader.GetInt64(1));
        if (rows != Math.Min(Accounts, settings.CatchUpEvents) || operations != settings.CatchUpEvents)
        {
            throw new InvalidOperationException($"{name}: read model has {rows} rows and {operations} operations, expected {Accounts} and {settings.CatchUpEvents}.");
        }
    }
}

/// <summary>The context of scenario H: the event store and the projection's read model (one row per account).</summary>
public sealed class ProjectionDbContext(DbContextOptions<ProjectionDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.IncludeEventStore();
        modelBuilder.Entity<BalanceRow>(e =>
        {
            e.ToTable("bench_balances");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").ValueGeneratedNever();
            e.Property(x => x.Balance).HasColumnName("balance");
            e.Property(x => x.Operations).HasColumnName("operations");
        });
    }
}

/// <summary>A row of scenario H's read model.</summary>
public sealed class BalanceRow
{
    public Guid Id { get; set; }

    public decimal Balance { get; set; }

    public long Operations { get; set; }
}

/// <summary>
/// Scenario H's projection: one row per account, changed through EF for every event. As docs/projections.md tells users,
/// <see cref="PrefetchAsync"/> loads the batch's account rows in one query before the handlers run, and each handler takes
/// its row from the change tracker (<c>Local.FindEntry</c>, no query; a row the prefetch did not find does not exist yet
/// and is added).
/// </summary>
public sealed class BalanceProjection : Projection<ProjectionDbContext>
{
    public const string ProjectionName = "bench-balances";

    public BalanceProjection()
        : base(ProjectionName)
    {
        On<Deposited>((db, e, _) => Row(db, e.AccountId).Balance += e.Amount);
        On<Withdrawn>((db, e, _) => Row(db, e.AccountId).Balance -= e.Amount);
    }

    public override Task PrefetchAsync(ProjectionDbContext context, IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken)
    {
        var accounts = events.Select(e => e.Data switch
        {
            Deposited d => d.AccountId,
            Withdrawn w => w.AccountId,
            _ => throw new InvalidOperationException("No handler for " + e.Data.GetType()),
        }).Distinct().ToList();
        return context.Set<BalanceRow>().Where(r => accounts.Contains(r.Id)).LoadAsync(cancellationToken);
    }

    private static BalanceRow Row(ProjectionDbContext db, Guid account)
    {
        var row = db.Set<BalanceRow>().Local.FindEntry(account)?.Entity;
        if (row is null)
        {
            row = new BalanceRow { Id = account };
            db.Add(row);
        }

        row.Operations++;
        return row;
    }
}

/// <summary>Scenario H's second projection: handlers that do nothing, to measure the catch-up runner without the read model.</summary>
public sealed class NoOpProjection : Projection<ProjectionDbContext>
{
    public const string ProjectionName = "bench-noop";

    public NoOpProjection()
        : base(ProjectionName)
    {
        On<Deposited>((_, e, _) => GC.KeepAlive(e));
        On<Withdrawn>((_, e, _) => GC.KeepAlive(e));
    }
}
