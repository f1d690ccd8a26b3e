using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: the stream guard follows the model: columns renamed with <c>HasColumnName</c> (including the
/// transaction id), a default schema, identifiers that need quoting (mixed case, spaces, quotes, the guard's own
/// dollar-quote tag); it is created by EnsureCreated and by a migration alike; and it never accepts a non-positive
/// version, whatever writes the row.
/// </summary>
public sealed class StreamGuardModelNamesNpgsqlTest
{
    [TestCase(true)]
    [TestCase(false)]
    public async Task Renamed_columns_in_a_default_schema_migrate_append_read_and_conflict(bool ensureCreated)
    {
        var names = new EventStoreNames("Event Store", "Kind", "Stream \"Id\"", "Ver$guard$sion", "TxId");
        await using var database = await ScratchDatabase.CreateAsync();
        await using (var db = NamedContext.Create(database.ConnectionString, names))
        {
            await CreateAsync(db, ensureCreated);
        }

        await AssertAppendsReadsAndConflictsAsync(database, names);
    }

    [Test]
    public async Task Random_identifier_spellings_keep_the_guard_working()
    {
        var seed = Environment.GetEnvironmentVariable("EVENTSOURCING_TEST_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed} (EVENTSOURCING_TEST_SEED replays it)");
        var random = new Random(seed);
        for (var i = 0; i < 3; i++)
        {
            await using var database = await ScratchDatabase.CreateAsync();
            var names = new EventStoreNames(Name(random, i), Name(random, i), Name(random, i), Name(random, i), Name(random, i));
            TestContext.Out.WriteLine($"names {names}");
            await using (var db = NamedContext.Create(database.ConnectionString, names))
            {
                await CreateAsync(db, ensureCreated: i % 2 == 0);
            }

            await AssertAppendsReadsAndConflictsAsync(database, names);
        }
    }

    [Test]
    public async Task The_guard_rejects_a_non_positive_version_written_by_raw_SQL_and_nothing_is_written()
    {
        await using var database = await ScratchDatabase.CreateAsync();
        await using (var db = database.CreateReferenceContext())
        {
            await db.Database.MigrateAsync();
        }

        foreach (var version in new[] { 0L, -1L, long.MinValue })
        {
            var error = Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync(
                $"""
                INSERT INTO es_events (stream_type, stream_id, sequence, event_id, event_type, event_version, payload, created_at)
                VALUES ('account', 'a-{version}', {version}, gen_random_uuid(), 'test.deposited', 1, '[]', now())
                """))!;
            Assert.That(error.SqlState, Is.EqualTo(PostgresErrorCodes.CheckViolation), $"version {version}");
            Assert.That(error.ConstraintName, Is.EqualTo("es_events_stream_guard"));
            Assert.That(error.MessageText, Does.Contain("not positive"));
        }

        // A batch whose first row is fine and second is not is refused whole.
        Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync(
            """
            INSERT INTO es_events (stream_type, stream_id, sequence, event_id, event_type, event_version, payload, created_at)
            VALUES ('account', 'b', 1, gen_random_uuid(), 'test.deposited', 1, '{}', now()),
                   ('account', 'c', 0, gen_random_uuid(), 'test.deposited', 1, '{}', now())
            """));
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM es_events", connection);
        Assert.That(await count.ExecuteScalarAsync(), Is.EqualTo(0L), "nothing written");
    }

    private static async Task CreateAsync(NamedContext db, bool ensureCreated)
    {
        if (ensureCreated)
        {
            Assert.That(await db.Database.EnsureCreatedAsync(), Is.True);
            return;
        }

        // What a migration generated for this model applies: its Up operations, through the same SQL generator.
        var operations = db.GetService<IMigrationsModelDiffer>().GetDifferences(null, db.GetService<IDesignTimeModel>().Model.GetRelationalModel());
        var commands = db.GetService<IMigrationsSqlGenerator>().Generate(operations, db.Model);
        await db.GetService<IMigrationCommandExecutor>().ExecuteNonQueryAsync(commands, db.GetService<IRelationalConnection>());
    }

    private static async Task AssertAppendsReadsAndConflictsAsync(ScratchDatabase database, EventStoreNames names)
    {
        var stream = new StreamId("account", Guid.NewGuid().ToString("N"));
        await using (var db = NamedContext.Create(database.ConnectionString, names))
        {
            Assert.That(await db.Events().AppendAsync(stream, ExpectedVersion.NoStream, [new Deposited(1), new Deposited(2)]), Is.EqualTo(2));
            db.Events().Append(stream, ExpectedVersion.Any, new Deposited(3));
            Assert.That(db.SaveChanges(), Is.GreaterThan(0));
        }

        await using (var db = NamedContext.Create(database.ConnectionString, names))
        {
            var read = await db.Events().ReadStreamAsync(stream).ToListAsync();
            Assert.That(read.Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3 }));
            var all = await db.Events().ReadAllAsync(GlobalCheckpoint.Start).ToListAsync();
            Assert.That(all.Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(new decimal[] { 1, 2, 3 }), "read-all orders by the renamed transaction id column");
            var conflict = Assert.ThrowsAsync<StreamConcurrencyException>(() => db.Events().AppendAsync(stream, ExpectedVersion.Exactly(2), [new Deposited(4)]))!;
            Assert.That(conflict.ActualVersion, Is.EqualTo(3));
        }

        // The guard itself, with the model's names: an insert ahead of the stream and one at version 0 are refused.
        var sql = new NpgsqlSqlNames(names);
        var gap = Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync(sql.Insert(stream, 5)))!;
        Assert.That(gap.SqlState, Is.EqualTo("ES409"));
        Assert.That(gap.ConstraintName, Is.EqualTo("es_events_stream_guard"));
        var zero = Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync(sql.Insert(new StreamId("account", "zero"), 0)))!;
        Assert.That(zero.SqlState, Is.EqualTo(PostgresErrorCodes.CheckViolation));
        await database.ExecuteAsync(sql.Insert(stream, 4));
        await using var check = NamedContext.Create(database.ConnectionString, names);
        Assert.That(await check.Events().ReadStreamAsync(stream).CountAsync(), Is.EqualTo(4), "a continuing raw insert passes the guard");
    }

    private static string Name(Random random, int index)
    {
        string[] pieces = ["Mixed", "lower", "UPPER", " ", "\"", "'", "$guard$", "$", "é", "_", "-", ";", "\\"];
        var name = new System.Text.StringBuilder();
        for (var n = random.Next(2, 6); n > 0; n--)
        {
            name.Append(pieces[random.Next(pieces.Length)]);
        }

        return name.Append(index).Append(random.Next(1000)).ToString();
    }

    /// <summary>The events table's schema and the guard's four columns, as a user might rename them.</summary>
    private sealed record EventStoreNames(string Schema, string StreamType, string StreamId, string Sequence, string TransactionId);

    private sealed record NpgsqlSqlNames(EventStoreNames Names)
    {
        private static string Q(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

        private static string L(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

        public string Insert(StreamId stream, long version)
            => $$"""
               INSERT INTO {{Q(Names.Schema)}}.es_events ({{Q(Names.StreamType)}}, {{Q(Names.StreamId)}}, {{Q(Names.Sequence)}}, event_id, event_type, event_version, payload, created_at)
               VALUES ({{L(stream.Type)}}, {{L(stream.Id)}}, {{version}}, gen_random_uuid(), 'test.deposited', 1, '{"amount":4}', now())
               """;
    }

    private sealed class NamedContext(DbContextOptions<NamedContext> options, EventStoreNames names) : DbContext(options)
    {
        public EventStoreNames Names { get; } = names;

        public static NamedContext Create(string connectionString, EventStoreNames names)
            => new(
                new DbContextOptionsBuilder<NamedContext>()
                    .UseNpgsql(connectionString)
                    .UseEventSourcing(es => es.UsePostgreSql().MapEvent<Deposited>("test.deposited"))
                    .ReplaceService<IModelCacheKeyFactory, NamesCacheKeyFactory>()
                    .Options,
                names);

        protected override void OnModelCreating(ModelBuilder modelBuilder)
        {
            modelBuilder.HasDefaultSchema(Names.Schema);
            modelBuilder.IncludeEventStore();
            modelBuilder.Entity<StoredEvent>(e =>
            {
                e.Property(x => x.StreamType).HasColumnName(Names.StreamType);
                e.Property(x => x.StreamId).HasColumnName(Names.StreamId);
                e.Property(x => x.Sequence).HasColumnName(Names.Sequence);
                e.Property<ulong>("TransactionId").HasColumnName(Names.TransactionId);
            });
        }
    }

    private sealed class NamesCacheKeyFactory : IModelCacheKeyFactory
    {
        public object Create(DbContext context, bool designTime) => (((NamedContext)context).Names, designTime);
    }
}
