using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: a model that gives the event table's metadata column a database default (<c>HasDefaultValueSql</c>)
/// stores what EF's own insert stores, whichever way the save's rows are written: the default for an event without
/// metadata (EF leaves the column out), the event's own metadata otherwise — for one event or several in one save, with
/// or without another change in the save. Likewise a json column type spelled in upper case (<c>HasColumnType("JSONB")</c>,
/// a jsonb column to PostgreSQL) is written as jsonb.
/// </summary>
public sealed class EventColumnDefaultNpgsqlTest
{
    [Test]
    public async Task A_metadata_column_default_applies_exactly_to_the_events_without_metadata([Values] bool async)
    {
        var seed = Environment.GetEnvironmentVariable("EVENTSOURCING_TEST_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed} (EVENTSOURCING_TEST_SEED replays it)");
        var random = new Random(seed);
        await using var database = await ScratchDatabase.CreateAsync();
        await using (var db = DefaultingContext.Create(database.ConnectionString))
        {
            Assert.That(await db.Database.EnsureCreatedAsync(), Is.True);
        }

        // Always one single-event save without metadata, and multi-event saves whose first event has none, alone (the
        // rows only) and with another change (EF's pipeline, one carrier row); then random ones.
        var saves = new List<(bool[] WithMetadata, bool OtherChange)> { ([false], false), ([false, true], false), ([false, true, false], true) };
        for (var i = 0; i < 5; i++)
        {
            saves.Add((Enumerable.Range(0, random.Next(1, 5)).Select(_ => random.Next(2) == 0).ToArray(), random.Next(2) == 0));
        }

        var wrong = new List<string>();
        for (var i = 0; i < saves.Count; i++)
        {
            var stream = new StreamId("account", $"s{i}-{Guid.NewGuid():N}");
            var (withMetadata, otherChange) = saves[i];
            await using (var db = DefaultingContext.Create(database.ConnectionString))
            {
                db.Events().Append(
                    stream,
                    ExpectedVersion.NoStream,
                    withMetadata.Select((m, n) => (object)new EventData(new Deposited(n))
                    {
                        Metadata = m ? new Dictionary<string, string> { ["k"] = "v" + n } : null,
                    }).ToArray());
                if (otherChange)
                {
                    db.Notes.Add(new Note { Text = "other" });
                }

                if (async)
                {
                    await db.SaveChangesAsync();
                }
                else
                {
                    db.SaveChanges();
                }
            }

            var stored = await ReadMetadataAsync(database.ConnectionString, stream);
            var expected = withMetadata.Select((m, n) => m ? ("v" + n, (string?)null) : (null, "db")).ToArray();
            if (!stored.SequenceEqual(expected))
            {
                wrong.Add($"save {i}: events with metadata [{string.Join(", ", withMetadata)}], other change {otherChange}: stored (k, origin) [{string.Join(", ", stored)}]");
            }
        }

        Assert.That(wrong, Is.Empty, $"saves whose stored metadata is not EF's (seed {seed})");
    }

    [Test]
    public async Task Json_columns_whose_type_is_spelled_in_upper_case_are_written([Values] bool async)
    {
        await using var database = await ScratchDatabase.CreateAsync();
        await using (var db = UpperCaseContext.Create(database.ConnectionString))
        {
            Assert.That(await db.Database.EnsureCreatedAsync(), Is.True);
        }

        foreach (var count in new[] { 1, 3 })
        {
            var stream = new StreamId("account", $"u{count}-{Guid.NewGuid():N}");
            await using (var db = UpperCaseContext.Create(database.ConnectionString))
            {
                db.Events().Append(stream, ExpectedVersion.NoStream, Enumerable.Range(0, count).Select(n => (object)new EventData(new Deposited(n))
                {
                    Metadata = new Dictionary<string, string> { ["k"] = "v" + n },
                }).ToArray());
                if (async)
                {
                    await db.SaveChangesAsync();
                }
                else
                {
                    db.SaveChanges();
                }
            }

            var stored = await ReadMetadataAsync(database.ConnectionString, stream);
            Assert.That(stored.Select(r => r.K), Is.EqualTo(Enumerable.Range(0, count).Select(n => "v" + n)), $"{count} events");
        }
    }

    private sealed class UpperCaseContext(DbContextOptions<UpperCaseContext> options) : DbContext(options)
    {
        public static UpperCaseContext Create(string connectionString)
            => new(new DbContextOptionsBuilder<UpperCaseContext>()
                .UseNpgsql(connectionString)
                .UseEventSourcing(es => es.UsePostgreSql().MapEvent<Deposited>("test.deposited"))
                .Options);

        protected override void OnModelCreating(ModelBuilder modelBuilder)
        {
            modelBuilder.IncludeEventStore();
            modelBuilder.Entity<StoredEvent>().Property(x => x.Payload).HasColumnType("JSONB");
            modelBuilder.Entity<StoredEvent>().Property(x => x.Metadata).HasColumnType("JSONB");
        }
    }

    private static async Task<List<(string? K, string? Origin)>> ReadMetadataAsync(string connectionString, StreamId stream)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT metadata ->> 'k', metadata ->> 'origin' FROM es_events WHERE stream_type = $1 AND stream_id = $2 ORDER BY sequence",
            connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream.Type });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream.Id });
        var rows = new List<(string?, string?)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
        }

        return rows;
    }

    private sealed class Note
    {
        public int Id { get; set; }

        public string Text { get; set; } = "";
    }

    private sealed class DefaultingContext(DbContextOptions<DefaultingContext> options) : DbContext(options)
    {
        public DbSet<Note> Notes => Set<Note>();

        public static DefaultingContext Create(string connectionString)
            => new(new DbContextOptionsBuilder<DefaultingContext>()
                .UseNpgsql(connectionString)
                .UseEventSourcing(es => es.UsePostgreSql().MapEvent<Deposited>("test.deposited"))
                .Options);

        protected override void OnModelCreating(ModelBuilder modelBuilder)
        {
            modelBuilder.IncludeEventStore();
            modelBuilder.Entity<StoredEvent>().Property(x => x.Metadata).HasDefaultValueSql("'{\"origin\": \"db\"}'::jsonb");
        }
    }
}
