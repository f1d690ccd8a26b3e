using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Property: random event shapes (<see cref="ShapeGenerator"/>) read back exactly as written (stream read and read-all),
/// and an aggregate holding such state loads the same from its snapshot plus the tail as from a full replay. Seeded:
/// set EVENTSOURCING_ROUNDTRIP_SEED to replay a run. Equality is compared on the JSON of both sides written with the
/// same options, which include every member of these types (records, IncludeFields for the tuples); JSON objects
/// (records, dictionaries) compare unordered, arrays (lists) in order.
/// </summary>
public abstract class RoundTripPropertyTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private const int Histories = 60;

    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { IncludeFields = true };

    private static void Configure(EventSourcingDbContextOptionsBuilder es)
        => es.MapEvent<ShapeEvent>("test.shape").UseJsonSerializerOptions(Options).SnapshotEvery<ShapeHolder>(3);

    [Test]
    public virtual async Task Random_event_shapes_round_trip_and_snapshot_plus_tail_equals_a_full_replay()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("EVENTSOURCING_ROUNDTRIP_SEED"), CultureInfo.InvariantCulture, out var s) ? s : 20261203;
        await TestContext.Out.WriteLineAsync($"seed {seed} ({Histories} histories, history h uses seed {seed}+h)");
        var events = 0;
        for (var h = 0; h < Histories; h++)
        {
            events += await RunHistoryAsync(seed + h);
        }

        await TestContext.Out.WriteLineAsync($"{Histories} histories, {events} events: all read back equal, all snapshot loads equal to the full replay");
    }

    private async Task<int> RunHistoryAsync(int seed)
    {
        var generator = new ShapeGenerator(seed);
        var id = new Guid(seed, 0, 0, new byte[8]);
        var stream = StreamId.For<ShapeHolder>(id);
        var shadow = ShapeHolder.Create(id);
        var written = new List<ShapeEvent>();
        var saves = 1 + (seed % 3);
        for (var save = 0; save < saves; save++)
        {
            await using var db = CreateContext(Configure);
            var holder = save == 0 ? ShapeHolder.Create(id) : await db.Aggregates<ShapeHolder>().LoadAsync(id);
            if (save == 0)
            {
                db.Aggregates<ShapeHolder>().Add(holder);
            }

            for (var i = 0; i < 1 + (seed + save) % 4; i++)
            {
                var e = generator.Next();
                holder.Record(e);
                shadow.Record(e);
                written.Add(e);
            }

            await db.SaveChangesAsync();
        }

        await using (var db = CreateContext(Configure))
        {
            var read = await ToListAsync(db.Events().ReadStreamAsync(stream));
            AssertSame(read.Skip(1).Select(e => e.Data).ToList(), written, $"seed {seed}: stream read");
            var all = (await ToListAsync(db.Events().ReadAllAsync(GlobalCheckpoint.Start))).Where(e => e.StreamId == stream);
            AssertSame(all.Skip(1).Select(e => e.Data).ToList(), written, $"seed {seed}: read-all");

            if (written.Count + 1 >= 3)
            {
                Assert.That(await db.Set<StoredSnapshot>().CountAsync(x => x.StreamId == stream.Id), Is.EqualTo(1), $"seed {seed}: a snapshot was stored (not refused)");
            }

            var fromSnapshot = await db.Aggregates<ShapeHolder>().LoadAsync(id);
            AssertSame(State(fromSnapshot), State(shadow), $"seed {seed}: snapshot + tail equals the commands applied in memory");
            await db.Set<StoredSnapshot>().Where(x => x.StreamId == stream.Id).ForEachAsync(x => db.Remove(x));
            await db.SaveChangesAsync();
        }

        await using (var db = CreateContext(Configure))
        {
            var replayed = await db.Aggregates<ShapeHolder>().LoadAsync(id);
            AssertSame(State(replayed), State(shadow), $"seed {seed}: full replay equals the commands applied in memory");
        }

        return written.Count;
    }

    /// <summary>
    /// Asserts that both sides write the same JSON, with objects compared as unordered (a dictionary's enumeration order
    /// is not part of its value, and jsonb does not keep it) and arrays in order.
    /// </summary>
    private static void AssertSame(object actual, object expected, string because)
    {
        var (a, e) = (Json(actual), Json(expected));
        Assert.That(JsonNode.DeepEquals(JsonNode.Parse(a), JsonNode.Parse(e)), Is.True, $"{because}{Environment.NewLine}read:     {a}{Environment.NewLine}expected: {e}");
    }

    private static string Json(object value) => JsonSerializer.Serialize(value, value.GetType(), Options);

    private static object State(ShapeHolder holder) => new { holder.Nodes, holder.ByKey, holder.Last, holder.Sum };
}
