using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Respawn;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>PostgreSQL: this run's database, emptied by Respawn before each test.</summary>
public sealed class NpgsqlEventStoreFixture : EventStoreFixtureBase
{
    private Respawner? _respawner;

    public override bool SupportsTransactions => true;

    public override bool EnforcesUniqueIndexes => true;

    public string ConnectionString => PostgresDatabase.ConnectionString;

    public override async Task InitializeAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        _respawner = await Respawner.CreateAsync(connection, new RespawnerOptions
        {
            DbAdapter = DbAdapter.Postgres,
            SchemasToInclude = ["public"],
            TablesToIgnore = ["__EFMigrationsHistory"],
        });
    }

    public override async Task ResetAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await _respawner!.ResetAsync(connection);
    }

    public override void ConfigureProvider(DbContextOptionsBuilder builder) => builder.UseNpgsql(ConnectionString);

    protected override void ConfigureEventSourcing(EventSourcingDbContextOptionsBuilder builder) => builder.UsePostgreSql();
}
