using System.Text;
using EventSourcing.EFCore.PostgreSQL.Storage.Internal;
using EventSourcing.EFCore.Reference;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// The reference migrations (migrations/, made by <c>dotnet ef migrations add</c>) and their idempotent script, applied
/// to empty databases: they give exactly the schema the model describes (tables, columns, indexes, defaults and the
/// stream guard), leave no pending model changes, and the script can be applied twice. These tests compare databases
/// with each other and with the model, so they hold whichever tables the event store has.
/// </summary>
public sealed class ReferenceMigrationsNpgsqlTest
{
    private static string IdempotentScriptPath => Path.Combine(AppContext.BaseDirectory, "ReferenceMigrations", "idempotent.sql");

    [Test]
    public async Task Migrating_an_empty_database_applies_every_reference_migration_and_leaves_no_pending_model_changes()
    {
        await using var database = await ScratchDatabase.CreateAsync();
        await using var db = database.CreateReferenceContext();

        await db.Database.MigrateAsync();

        Assert.That(db.Database.GetMigrations(), Is.Not.Empty);
        Assert.That(await db.Database.GetAppliedMigrationsAsync(), Is.EqualTo(db.Database.GetMigrations()));
        Assert.That(await db.Database.GetPendingMigrationsAsync(), Is.Empty);
        Assert.That(db.Database.HasPendingModelChanges(), Is.False, "the model has changes that no migration captures: run eng/migrations.sh");
    }

    [Test]
    public async Task Adding_the_event_store_migration_to_an_existing_database_keeps_its_data_and_gives_the_full_schema()
    {
        await using var database = await ScratchDatabase.CreateAsync();
        await using var fresh = await ScratchDatabase.CreateAsync();
        await using var db = database.CreateReferenceContext();
        var migrations = db.Database.GetMigrations().ToList();
        var migrator = db.GetService<IMigrator>();
        await migrator.MigrateAsync(migrations[0]); // the application before it adopted the library
        var before = await database.DescribeSchemaAsync();
        var orderId = Guid.NewGuid();
        await database.ExecuteAsync(
            $"INSERT INTO order_summaries (\"Id\", \"Customer\", \"Total\", \"UpdatedAt\") VALUES ('{orderId}', 'Ada', 12.50, now())");

        await migrator.MigrateAsync();

        foreach (var table in MigratedTestSchema.EventStoreTables(db.Model))
        {
            Assert.That(before, Has.No.Member($"table {table.Schema ?? "public"}.{table.Name}"), "the first migration is the application without the event store");
        }

        await using (var check = fresh.CreateReferenceContext())
        {
            await check.Database.MigrateAsync();
        }

        Assert.That(await database.DescribeSchemaAsync(), Is.EqualTo(await fresh.DescribeSchemaAsync()));
        Assert.That(await db.OrderSummaries.Select(o => o.Id).ToListAsync(), Is.EqualTo(new[] { orderId }));
    }

    [Test]
    public async Task Migrated_schema_equals_the_schema_of_the_reference_contexts_create_script()
    {
        await using var migrated = await ScratchDatabase.CreateAsync();
        await using var created = await ScratchDatabase.CreateAsync();
        await using (var db = migrated.CreateReferenceContext())
        {
            await db.Database.MigrateAsync();
        }

        await using (var db = created.CreateReferenceContext())
        {
            await created.ExecuteAsync(db.Database.GenerateCreateScript());
        }

        var expected = await created.DescribeSchemaAsync();
        Assert.That(expected, Has.Some.StartsWith("trigger CREATE TRIGGER es_events_stream_guard AFTER INSERT ON public.es_events"), "the create script has the guard");
        Assert.That(await migrated.DescribeSchemaAsync(), Is.EqualTo(expected));
    }

    [Test]
    public async Task Migrated_schema_has_every_table_column_index_and_stream_guard_of_the_model()
    {
        await using var database = await ScratchDatabase.CreateAsync();
        await using var db = database.CreateReferenceContext();
        await db.Database.MigrateAsync();
        var schema = await database.DescribeSchemaAsync();

        var model = db.GetService<IDesignTimeModel>().Model.GetRelationalModel();
        foreach (var table in model.Tables)
        {
            var name = (table.Schema ?? "public") + "." + table.Name;
            Assert.That(schema, Has.Member("table " + name));
            foreach (var column in table.Columns)
            {
                Assert.That(schema, Has.Some.StartsWith($"column {name}.{column.Name} "), column.Name);
                if (column.DefaultValueSql is { } defaultSql)
                {
                    Assert.That(schema, Has.Some.StartsWith($"column {name}.{column.Name} ").And.Contains(" default " + defaultSql), column.Name);
                }
            }

            foreach (var index in table.Indexes)
            {
                Assert.That(schema, Has.Some.StartsWith($"index CREATE {(index.IsUnique ? "UNIQUE " : "")}INDEX {index.Name} ON {name} "), index.Name);
            }

            if (StreamGuardColumns.IsGuard(table[NpgsqlEventStoreSchema.StreamGuardAnnotation]))
            {
                var guard = NpgsqlEventStoreSchema.GuardName(table.Name);
                Assert.That(schema, Has.Member(
                    $"trigger CREATE TRIGGER {guard} AFTER INSERT ON {name} REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION {guard}() enabled O"));
            }
        }

        Assert.That(model.Tables.Count(t => StreamGuardColumns.IsGuard(t[NpgsqlEventStoreSchema.StreamGuardAnnotation])), Is.EqualTo(1), "the events table carries the guard");
    }

    [Test]
    public async Task Idempotent_script_applied_twice_succeeds_and_gives_the_migrated_schema()
    {
        var script = await File.ReadAllTextAsync(IdempotentScriptPath);
        await using var migrated = await ScratchDatabase.CreateAsync();
        await using var scripted = await ScratchDatabase.CreateAsync();
        await using (var db = migrated.CreateReferenceContext())
        {
            await db.Database.MigrateAsync();
        }

        await scripted.ExecuteAsync(script);
        var once = await scripted.DescribeSchemaAsync();
        await scripted.ExecuteAsync(script);

        Assert.That(once, Is.EqualTo(await migrated.DescribeSchemaAsync()));
        Assert.That(await scripted.DescribeSchemaAsync(), Is.EqualTo(once), "the second run changes nothing");
        await using var check = scripted.CreateReferenceContext();
        Assert.That(await check.Database.GetAppliedMigrationsAsync(), Is.EqualTo(check.Database.GetMigrations()));
        Assert.That(await check.Database.GetPendingMigrationsAsync(), Is.Empty);
    }

    [Test]
    public async Task Idempotent_script_in_the_repository_is_the_one_the_migrations_generate_now()
    {
        var script = (await File.ReadAllTextAsync(IdempotentScriptPath, Encoding.UTF8)).ReplaceLineEndings("\n");
        await using var db = new ReferenceDbContextFactory().CreateDbContext([]);

        var generated = db.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent).ReplaceLineEndings("\n");

        Assert.That(script, Is.EqualTo(generated), "migrations/idempotent.sql is stale: run eng/migrations.sh");
    }

    [Test]
    public async Task Migrating_down_to_the_start_removes_the_event_store_and_its_stream_guard()
    {
        await using var database = await ScratchDatabase.CreateAsync();
        await using var db = database.CreateReferenceContext();
        await db.Database.MigrateAsync();

        await db.GetService<IMigrator>().MigrateAsync(Migration.InitialDatabase);

        Assert.That(await database.DescribeSchemaAsync(), Is.EqualTo(new[] { "schema public" }), "no table, index, trigger or function is left");
    }

    [Test]
    public async Task Suites_run_on_migrated_event_store_tables_identical_to_the_ones_the_test_model_creates()
    {
        await using var created = await ScratchDatabase.CreateAsync();
        await using (var test = PostgresDatabase.CreateContext(created.ConnectionString))
        {
            await test.Database.EnsureCreatedAsync();
        }

        await using var suites = new ReferenceDbContext(
            ReferenceDbContext.Configure(new DbContextOptionsBuilder<ReferenceDbContext>(), PostgresDatabase.ConnectionString).Options);
        var applicationTables = suites.Model.GetEntityTypes()
            .Where(e => e.ClrType.Assembly == typeof(ReferenceDbContext).Assembly)
            .Select(e => "public." + e.GetTableName() + " ")
            .ToList();
        Assert.That(applicationTables, Is.Not.Empty);
        Assert.That(await suites.Database.GetAppliedMigrationsAsync(), Is.EqualTo(suites.Database.GetMigrations()), "the suites' database was migrated");

        var suitesSchema = await SchemaDescription.ReadAsync(PostgresDatabase.ConnectionString);
        Assert.That(
            suitesSchema.Where(line => !applicationTables.Any(t => (line + " ").Contains(t, StringComparison.Ordinal) || line.Contains(t.Replace(" ", "."), StringComparison.Ordinal))),
            Is.EqualTo(await created.DescribeSchemaAsync()),
            "the suites' database differs from the test model's own schema by the reference application's tables only");
    }
}
