using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: read-all reads the stream type and event type names and the payload straight from their bytes when
/// the columns have the types it knows (<c>varchar</c>/<c>text</c> names; <c>jsonb</c>, <c>json</c> or <c>text</c>
/// payload) and as strings otherwise (here <c>name</c> and <c>character(n)</c>): every mapping a user may choose
/// reads back the same envelopes, with metadata present or absent.
/// </summary>
public sealed class ReadAllColumnTypesNpgsqlTest
{
    [TestCase(null, null)]
    [TestCase("text", "json")]
    [TestCase("text", "text")]
    [TestCase("name", "character(300)")]
    public async Task Read_all_reads_the_same_envelopes_whatever_the_name_and_payload_column_types(string? nameType, string? payloadType)
    {
        var types = new ColumnTypes(nameType, payloadType);
        await using var database = await ScratchDatabase.CreateAsync();
        await using (var db = TypedContext.Create(database.ConnectionString, types))
        {
            Assert.That(await db.Database.EnsureCreatedAsync(), Is.True);
        }

        var streams = new[] { new StreamId("account", "a-1"), new StreamId("客户-é", "b 2") };
        var appended = new List<(StreamId Stream, EventData Event)>();
        for (var save = 0; save < 3; save++)
        {
            await using var db = TypedContext.Create(database.ConnectionString, types);
            foreach (var stream in streams)
            {
                var e = new EventData(save % 2 == 0 ? new Deposited(save + 0.5m) : new Withdrawn(save, "rent ✓ \"q\"")) { EventId = Guid.NewGuid() };
                if (stream == streams[1])
                {
                    e = new EventData(e.Data) { EventId = e.EventId, Metadata = new Dictionary<string, string> { ["user"] = "ädä 😀" } };
                }

                db.Events().Append(stream, ExpectedVersion.Exactly(save), e);
                appended.Add((stream, e));
            }

            await db.SaveChangesAsync();
        }

        await using var read = TypedContext.Create(database.ConnectionString, types);
        foreach (var batchSize in new[] { 1, 4, 100 })
        {
            var all = await read.Events().ReadAllAsync(GlobalCheckpoint.Start, batchSize).ToListAsync();
            Assert.That(all.Select(e => e.EventId), Is.EquivalentTo(appended.Select(a => a.Event.EventId!.Value)), $"batch size {batchSize}");
            foreach (var e in all)
            {
                var (stream, expected) = appended.Single(a => a.Event.EventId == e.EventId);
                Assert.That((e.StreamId, e.Data, e.EventType), Is.EqualTo((stream, expected.Data, expected.Data is Deposited ? "test.deposited" : "test.withdrawn")));
                Assert.That(e.Metadata, Is.EquivalentTo(expected.Metadata ?? new Dictionary<string, string>()));
            }

            Assert.That(all.Select(e => e.Checkpoint), Is.Ordered.Ascending.And.Unique);
            foreach (var stream in streams)
            {
                Assert.That(all.Where(e => e.StreamId == stream).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3 }));
            }
        }
    }

    /// <summary>The store types of the stream type and event type columns and of the payload column (null: the library's own).</summary>
    private sealed record ColumnTypes(string? Names, string? Payload);

    private sealed class TypedContext(DbContextOptions<TypedContext> options, ColumnTypes types) : DbContext(options)
    {
        public ColumnTypes Types { get; } = types;

        public static TypedContext Create(string connectionString, ColumnTypes types)
            => new(
                new DbContextOptionsBuilder<TypedContext>()
                    .UseNpgsql(connectionString)
                    .UseEventSourcing(es => es.UsePostgreSql().MapEvent<Deposited>("test.deposited").MapEvent<Withdrawn>("test.withdrawn"))
                    .ReplaceService<IModelCacheKeyFactory, TypesCacheKeyFactory>()
                    .Options,
                types);

        protected override void OnModelCreating(ModelBuilder modelBuilder)
        {
            modelBuilder.IncludeEventStore();
            modelBuilder.Entity<StoredEvent>(e =>
            {
                if (Types.Names is { } names)
                {
                    e.Property(x => x.StreamType).HasColumnType(names);
                    e.Property(x => x.EventType).HasColumnType(names);
                }

                if (Types.Payload is { } payload)
                {
                    e.Property(x => x.Payload).HasColumnType(payload);
                }
            });
        }
    }

    private sealed class TypesCacheKeyFactory : IModelCacheKeyFactory
    {
        public object Create(DbContext context, bool designTime) => (((TypedContext)context).Types, designTime);
    }
}
