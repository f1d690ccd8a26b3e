using EventSourcing.EFCore.Reference;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// The stream guard in migrations beyond CreateTable: the <c>CreateEventStreamGuard</c>/<c>DropEventStreamGuard</c>
/// helpers (same SQL as the generated migration, one source), and the guard following its table to another schema
/// and name.
/// </summary>
public sealed class StreamGuardMigrationNpgsqlTest
{
    [Test]
    public async Task CreateEventStreamGuard_writes_the_same_SQL_as_the_events_tables_generated_migration()
    {
        await using var db = new ReferenceDbContextFactory().CreateDbContext([]);
        var generator = db.GetService<IMigrationsSqlGenerator>();
        var createTable = db.GetService<IMigrationsModelDiffer>()
            .GetDifferences(null, db.GetService<IDesignTimeModel>().Model.GetRelationalModel())
            .OfType<CreateTableOperation>()
            .Single(t => t.Name == "es_events");
        var migrationBuilder = new MigrationBuilder(db.Database.ProviderName);

        migrationBuilder.CreateEventStreamGuard();

        var helperSql = generator.Generate(migrationBuilder.Operations, db.Model).Select(c => c.CommandText).ToList();
        var tableSql = generator.Generate([createTable], db.Model).Select(c => c.CommandText).ToList();
        Assert.That(helperSql, Has.Count.EqualTo(3));
        Assert.That(helperSql[0], Does.StartWith("CREATE OR REPLACE FUNCTION es_events_stream_guard() RETURNS trigger"));
        Assert.That(tableSql[0], Does.StartWith("CREATE TABLE es_events"));
        Assert.That(tableSql.Skip(1), Is.EqualTo(helperSql));
    }

    [Test]
    public async Task DropEventStreamGuard_and_CreateEventStreamGuard_remove_and_restore_a_working_guard()
    {
        await using var database = await ScratchDatabase.CreateAsync();
        await using var db = database.CreateReferenceContext();
        await db.Database.MigrateAsync();
        var migrated = await database.DescribeSchemaAsync();

        await ApplyAsync(db, b => b.DropEventStreamGuard());
        var dropped = await database.DescribeSchemaAsync();
        await ApplyAsync(db, b => b.CreateEventStreamGuard());
        await ApplyAsync(db, b => b.CreateEventStreamGuard()); // twice is harmless

        Assert.That(dropped, Has.None.Contains("stream_guard"), "neither trigger nor function is left");
        Assert.That(migrated.Except(dropped), Has.Exactly(2).Items, "only the trigger and its function went");
        Assert.That(await database.DescribeSchemaAsync(), Is.EqualTo(migrated));
        var error = Assert.ThrowsAsync<PostgresException>(() => InsertEventAsync(database.ConnectionString, "es_events", sequence: 2));
        Assert.That(error!.SqlState, Is.EqualTo("ES409"), "an event ahead of its stream is rejected by the restored guard");
    }

    [Test]
    public void CreateEventStreamGuard_in_a_migration_for_another_provider_fails_and_says_to_check_IsNpgsql()
    {
        var migrationBuilder = new MigrationBuilder("Microsoft.EntityFrameworkCore.SqlServer");

        var error = Assert.Throws<InvalidOperationException>(() => migrationBuilder.CreateEventStreamGuard());

        Assert.That(error!.Message, Does.Contain("IsNpgsql()"));
        Assert.That(migrationBuilder.Operations, Is.Empty);
    }

    [Test]
    public void CreateEventStreamGuard_rejects_an_empty_table_or_schema_name()
    {
        var migrationBuilder = new MigrationBuilder("Npgsql.EntityFrameworkCore.PostgreSQL");

        Assert.That(Assert.Throws<ArgumentException>(() => migrationBuilder.CreateEventStreamGuard(" "))!.ParamName, Is.EqualTo("table"));
        Assert.That(Assert.Throws<ArgumentException>(() => migrationBuilder.DropEventStreamGuard(schema: ""))!.ParamName, Is.EqualTo("schema"));
        Assert.That(migrationBuilder.Operations, Is.Empty);
    }

    [Test]
    public async Task Moving_the_events_table_to_another_schema_and_name_moves_its_stream_guard()
    {
        await using var database = await ScratchDatabase.CreateAsync();
        await using var created = await ScratchDatabase.CreateAsync();
        await using (var reference = database.CreateReferenceContext())
        {
            await reference.Database.MigrateAsync();
        }

        await using var moved = MovedEventStoreContext.Create(database.ConnectionString);
        await using (var reference = database.CreateReferenceContext())
        {
            var operations = moved.GetService<IMigrationsModelDiffer>().GetDifferences(
                reference.GetService<IDesignTimeModel>().Model.GetRelationalModel(),
                moved.GetService<IDesignTimeModel>().Model.GetRelationalModel());
            Assert.That(operations, Has.Some.InstanceOf<RenameTableOperation>(), "EF renames the table (it does not drop and create it)");
            var commands = moved.GetService<IMigrationsSqlGenerator>().Generate(operations, moved.Model);
            await moved.GetService<IMigrationCommandExecutor>().ExecuteNonQueryAsync(commands, moved.GetService<IRelationalConnection>());
        }

        await using (var fresh = MovedEventStoreContext.Create(created.ConnectionString))
        {
            await fresh.Database.EnsureCreatedAsync();
        }

        var schema = await database.DescribeSchemaAsync();
        Assert.That(schema, Has.Member(
            "trigger CREATE TRIGGER events_stream_guard AFTER INSERT ON es.events REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION es.events_stream_guard() enabled O"));
        Assert.That(schema, Has.None.Contains("es_events_stream_guard"), "the old trigger and function are gone");
        Assert.That(
            schema.Where(l => l.StartsWith("trigger ", StringComparison.Ordinal) || l.StartsWith("function ", StringComparison.Ordinal)),
            Is.EqualTo((await created.DescribeSchemaAsync()).Where(l => l.StartsWith("trigger ", StringComparison.Ordinal) || l.StartsWith("function ", StringComparison.Ordinal))),
            "the guard is the one a fresh database gets");
        var error = Assert.ThrowsAsync<PostgresException>(() => InsertEventAsync(database.ConnectionString, "es.events", sequence: 3));
        Assert.That(error!.SqlState, Is.EqualTo("ES409"));
        Assert.That(error.ConstraintName, Is.EqualTo("events_stream_guard"));
    }

    private static async Task ApplyAsync(DbContext db, Action<MigrationBuilder> migration)
    {
        var migrationBuilder = new MigrationBuilder(db.Database.ProviderName);
        migration(migrationBuilder);
        var commands = db.GetService<IMigrationsSqlGenerator>().Generate(migrationBuilder.Operations, db.Model);
        await db.GetService<IMigrationCommandExecutor>().ExecuteNonQueryAsync(commands, db.GetService<IRelationalConnection>());
    }

    private static async Task InsertEventAsync(string connectionString, string table, long sequence)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"""
            INSERT INTO {table} (stream_type, stream_id, sequence, event_id, event_type, event_version, payload, created_at)
            VALUES ('account', @id, @sequence, @eventId, 'test.deposited', 1, '[]', now())
            """,
            connection);
        command.Parameters.AddWithValue("id", Guid.NewGuid().ToString("N"));
        command.Parameters.AddWithValue("sequence", sequence);
        command.Parameters.AddWithValue("eventId", Guid.NewGuid());
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The reference application after moving its event store: <c>IncludeEventStore(b => b.ToSchema("es").ToEventsTable("events"))</c>.</summary>
    private sealed class MovedEventStoreContext(DbContextOptions<MovedEventStoreContext> options) : DbContext(options)
    {
        public static MovedEventStoreContext Create(string connectionString)
            => new(new DbContextOptionsBuilder<MovedEventStoreContext>()
                .UseNpgsql(connectionString)
                .UseEventSourcing(es => es.UsePostgreSql())
                .Options);

        protected override void OnModelCreating(ModelBuilder modelBuilder)
        {
            modelBuilder.IncludeEventStore(b => b.ToSchema("es").ToEventsTable("events"));
            modelBuilder.Entity<OrderSummary>(b =>
            {
                b.ToTable("order_summaries");
                b.HasKey(o => o.Id);
                b.Property(o => o.Customer).HasMaxLength(200);
                b.Property(o => o.Total).HasPrecision(18, 2);
            });
        }
    }
}
