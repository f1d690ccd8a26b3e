using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// One throwaway database per test run, created from <c>EVENTSOURCING_TEST_POSTGRES</c> (set by eng/test.sh, which
/// starts a local cluster when it is not given) and dropped at the end. Its event store tables come from applying the
/// reference migrations (migrations/, as an adopting application gets them), the test-only tables from the test model
/// (<see cref="MigratedTestSchema"/>): every PostgreSQL suite runs on a migrated event store.
/// </summary>
[SetUpFixture]
public sealed class PostgresDatabase
{
    public const string ConnectionStringVariable = "EVENTSOURCING_TEST_POSTGRES";

    private static string? _connectionString;

    /// <summary>Gets the connection string of this run's database.</summary>
    public static string ConnectionString => _connectionString ?? throw new InvalidOperationException("The test database is not created yet.");

    [OneTimeSetUp]
    public async Task CreateAsync()
    {
        var server = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (string.IsNullOrWhiteSpace(server))
        {
            Assert.Fail($"Set {ConnectionStringVariable} to a PostgreSQL connection string, or run eng/test.sh, which starts a throwaway cluster.");
        }

        var builder = new NpgsqlConnectionStringBuilder(server) { Database = "es_tests_" + Guid.NewGuid().ToString("N")[..12] };
        _connectionString = builder.ConnectionString;

        await using (var db = CreateContext(_connectionString))
        {
            await db.Database.EnsureDeletedAsync();
        }

        await MigratedTestSchema.CreateAsync(_connectionString);
    }

    [OneTimeTearDown]
    public async Task DropAsync()
    {
        if (_connectionString is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await using var db = CreateContext(_connectionString);
        await db.Database.EnsureDeletedAsync();
    }

    public static TestDbContext CreateContext(string connectionString)
    {
        var builder = new DbContextOptionsBuilder<TestDbContext>();
        builder.UseNpgsql(connectionString).UseEventSourcing(es => es.UsePostgreSql().AddEvents(typeof(TestDbContext).Assembly));
        return new TestDbContext(builder.Options);
    }
}
