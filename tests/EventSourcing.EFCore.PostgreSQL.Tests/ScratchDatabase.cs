using EventSourcing.EFCore.Reference;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>An empty database of its own on the test server (for migration tests), dropped when disposed.</summary>
public sealed class ScratchDatabase : IAsyncDisposable
{
    private ScratchDatabase(string connectionString) => ConnectionString = connectionString;

    public string ConnectionString { get; }

    public static async Task<ScratchDatabase> CreateAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresDatabase.ConnectionString) { Database = "es_scratch_" + Guid.NewGuid().ToString("N")[..12] };
        await using var admin = new NpgsqlConnection(PostgresDatabase.ConnectionString);
        await admin.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{builder.Database}\"", admin);
        await command.ExecuteNonQueryAsync();
        return new ScratchDatabase(builder.ConnectionString);
    }

    /// <summary>Creates the reference DbContext (migrations/) on this database, configured as the application does.</summary>
    public ReferenceDbContext CreateReferenceContext()
        => new(ReferenceDbContext.Configure(new DbContextOptionsBuilder<ReferenceDbContext>(), ConnectionString).Options);

    /// <summary>Runs SQL text (several statements allowed) as one raw command, the way a DBA's tool would send a script.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public Task<IReadOnlyList<string>> DescribeSchemaAsync() => SchemaDescription.ReadAsync(ConnectionString);

    public async ValueTask DisposeAsync()
    {
        var database = new NpgsqlConnectionStringBuilder(ConnectionString).Database;
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(PostgresDatabase.ConnectionString);
        await admin.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", admin);
        await command.ExecuteNonQueryAsync();
    }
}
