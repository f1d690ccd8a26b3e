using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>
/// One benchmark database: created through the library's model (EnsureCreated runs the same migrations SQL generator as
/// <c>dotnet ef</c>, so the table, its indexes and the stream guard trigger are what users get), with a raw Npgsql data
/// source, a pooled library context factory and a pooled naive EF context factory on it.
/// </summary>
public sealed class BenchDatabase : IAsyncDisposable
{
    private BenchDatabase(string connectionString)
    {
        ConnectionString = connectionString;
        DataSource = NpgsqlDataSource.Create(connectionString);

        var library = new DbContextOptionsBuilder<LibraryDbContext>()
            .UseNpgsql(connectionString)
            .UseEventSourcing(es => es.UsePostgreSql().AddEvents(typeof(Deposited).Assembly).UseJsonSerializerOptions(BenchEvents.Json))
            .Options;
        Library = new PooledDbContextFactory<LibraryDbContext>(library);

        var naive = new DbContextOptionsBuilder<NaiveDbContext>().UseNpgsql(connectionString).Options;
        Naive = new PooledDbContextFactory<NaiveDbContext>(naive);
    }

    public string ConnectionString { get; }

    public NpgsqlDataSource DataSource { get; }

    public PooledDbContextFactory<LibraryDbContext> Library { get; }

    public PooledDbContextFactory<NaiveDbContext> Naive { get; }

    public static async Task<BenchDatabase> CreateAsync(string serverConnectionString, string name)
    {
        var builder = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name };
        var database = new BenchDatabase(builder.ConnectionString);
        await using (var db = database.Library.CreateDbContext())
        {
            await db.Database.EnsureDeletedAsync();
            await db.Database.EnsureCreatedAsync();
        }

        return database;
    }

    public async Task TruncateAsync()
    {
        await using var command = DataSource.CreateCommand("TRUNCATE es_events RESTART IDENTITY");
        await command.ExecuteNonQueryAsync();
    }

    public async Task AnalyzeAsync()
    {
        await using var command = DataSource.CreateCommand("VACUUM ANALYZE es_events");
        await command.ExecuteNonQueryAsync();
    }

    public async Task<long> CountAsync()
    {
        await using var command = DataSource.CreateCommand("SELECT count(*) FROM es_events");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        if (Environment.GetEnvironmentVariable("EVENTSOURCING_BENCH_KEEP") == "1")
        {
            return; // kept for EXPLAIN and pgbench; dropped by the next run's EnsureDeleted
        }

        await using var db = Library.CreateDbContext();
        await db.Database.EnsureDeletedAsync();
    }
}
