using EventSourcing.EFCore.Reference;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// Creates the test run's schema the way an adopting application gets it, so that every PostgreSQL suite runs on it:
/// the event store tables by applying the reference migrations (migrations/, made by <c>dotnet ef migrations add</c>),
/// and then only the test model's own entity tables (customers, tickets …) from the test model. The event store tables
/// are those of the library's entity types, so this holds whichever tables the event store has.
/// </summary>
public static class MigratedTestSchema
{
    public static async Task CreateAsync(string connectionString)
    {
        await using (var reference = new ReferenceDbContext(ReferenceDbContext.Configure(new DbContextOptionsBuilder<ReferenceDbContext>(), connectionString).Options))
        {
            await reference.Database.MigrateAsync(); // creates the database too
        }

        await using var test = PostgresDatabase.CreateContext(connectionString);
        var eventStoreTables = EventStoreTables(test.Model);
        await EnsureMigratedAsync(connectionString, eventStoreTables);

        var operations = test.GetService<IMigrationsModelDiffer>()
            .GetDifferences(null, test.GetService<IDesignTimeModel>().Model.GetRelationalModel())
            .Where(o => o is not ITableMigrationOperation t || !eventStoreTables.Contains(new(t.Schema, t.Table)))
            .ToList();
        var commands = test.GetService<IMigrationsSqlGenerator>().Generate(operations, test.Model);
        await test.GetService<IMigrationCommandExecutor>().ExecuteNonQueryAsync(commands, test.GetService<IRelationalConnection>());
    }

    /// <summary>Returns the tables of the library's own entity types (events, and whatever else the event store maps).</summary>
    public static HashSet<TableName> EventStoreTables(IModel model)
        => model.GetEntityTypes()
            .Where(e => e.ClrType.Assembly == typeof(StoredEvent).Assembly && e.GetTableName() is not null)
            .Select(e => new TableName(e.GetSchema(), e.GetTableName()!))
            .ToHashSet();

    private static async Task EnsureMigratedAsync(string connectionString, IEnumerable<TableName> tables)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var missing = new List<string>();
        foreach (var table in tables)
        {
            await using var command = new NpgsqlCommand("SELECT to_regclass(@name) IS NOT NULL", connection);
            command.Parameters.AddWithValue("name", table.Qualified);
            if (!(bool)(await command.ExecuteScalarAsync())!)
            {
                missing.Add(table.Qualified);
            }
        }

        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"The reference migrations do not create the event store table(s) {string.Join(", ", missing)} that the test model maps. "
                + "Regenerate them with eng/migrations.sh.");
        }
    }
}

/// <summary>A table's schema (null: the default) and name.</summary>
public readonly record struct TableName(string? Schema, string Name)
{
    public string Qualified => Schema is null ? $"\"{Name}\"" : $"\"{Schema}\".\"{Name}\"";
}
