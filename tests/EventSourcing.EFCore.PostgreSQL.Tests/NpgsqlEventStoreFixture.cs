using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Testing;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL: this run's database (event store tables from the reference migrations, see <see cref="PostgresDatabase"/>),
/// emptied before each test by the Testing package's <see cref="PostgreSqlTestDatabase{TContext}"/> (Respawn).
/// </summary>
public sealed class NpgsqlEventStoreFixture : EventStoreFixtureBase
{
    private readonly PostgreSqlTestDatabase<TestDbContext> _database;

    public NpgsqlEventStoreFixture()
        => _database = new PostgreSqlTestDatabase<TestDbContext>(() => CreateContext()) { CreateSchema = false };

    public override bool SupportsTransactions => true;

    public override bool EnforcesUniqueIndexes => true;

    public string ConnectionString => PostgresDatabase.ConnectionString;

    public override Task InitializeAsync() => _database.InitializeAsync();

    public override Task ResetAsync() => _database.ResetAsync();

    public override void ConfigureProvider(DbContextOptionsBuilder builder) => builder.UseNpgsql(ConnectionString);

    protected override void ConfigureEventSourcing(EventSourcingDbContextOptionsBuilder builder) => builder.UsePostgreSql();
}
