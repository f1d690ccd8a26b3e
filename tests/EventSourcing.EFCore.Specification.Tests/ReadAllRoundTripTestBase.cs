using System.Globalization;
using System.Text;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Property: random histories over many streams read back through read-all exactly as they were appended (the saves in
/// commit order, each stream's events in version order), whatever the batch size, resumed from each history's last checkpoint and read again from the start. The
/// histories use stream types and ids with non-ASCII text, every registered event type, strings with escapes,
/// surrogate pairs and payloads larger than a network buffer, metadata absent or present, explicit timestamps, sync
/// and async saves of one or several streams; and more distinct stream types than read-all keeps names of. Seeded:
/// set EVENTSOURCING_READALL_SEED to replay a run.
/// </summary>
public abstract class ReadAllRoundTripTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private const int Histories = 25;

    private static readonly string[] StreamTypes = ["account", "order", "café-über", "客户", "a b/c", "😀stream", "Ω"];

    private static readonly int[] BatchSizes = [1, 2, 3, 7, 64, 1000];

    private int _saves;

    [Test]
    public virtual async Task Random_histories_read_back_through_read_all_as_appended()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("EVENTSOURCING_READALL_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Random.Shared.Next();
        await TestContext.Out.WriteLineAsync($"seed {seed} (EVENTSOURCING_READALL_SEED replays it)");
        var random = new Random(seed);
        var everything = new List<Expected>();
        var after = GlobalCheckpoint.Start;
        for (var h = 0; h < Histories; h++)
        {
            var history = await AppendHistoryAsync(random);
            var batchSize = random.Next(3) == 0 ? random.Next(1, 50) : BatchSizes[random.Next(BatchSizes.Length)];
            await using var db = CreateContext();
            var read = await ToListAsync(db.Events().ReadAllAsync(after, batchSize));
            AssertSame(read, history, $"seed {seed}, history {h}, batch size {batchSize}, resumed after {after}");
            everything.AddRange(history);
            after = read[^1].Checkpoint;
        }

        await using (var db = CreateContext())
        {
            var batchSize = random.Next(1, 20);
            AssertSame(await ToListAsync(db.Events().ReadAllAsync(GlobalCheckpoint.Start, batchSize)), everything, $"seed {seed}, everything, batch size {batchSize}");
        }

        await TestContext.Out.WriteLineAsync($"{Histories} histories, {everything.Count} events: all read back as appended");
    }

    [Test]
    public virtual async Task More_distinct_stream_types_than_read_all_keeps_names_of_read_back_as_appended()
    {
        var expected = new List<Expected>();
        await using (var db = CreateContext())
        {
            for (var i = 0; i < 300; i++)
            {
                var stream = new StreamId($"type-{i}-é", "s");
                var e = new EventData(new Deposited(i)) { EventId = Guid.NewGuid() };
                db.Events().Append(stream, ExpectedVersion.NoStream, e);
                expected.Add(new Expected(stream, 1, e, "test.deposited", 1, Save: 0));
            }

            await db.SaveChangesAsync();
        }

        await using var read = CreateContext();
        AssertSame(await ToListAsync(read.Events().ReadAllAsync(GlobalCheckpoint.Start, 128)), expected, "300 stream types");
    }

    /// <summary>Appends one random history (1 to 4 saves of 1 to 3 streams, each with one or two appends) and returns its events in commit order.</summary>
    private async Task<List<Expected>> AppendHistoryAsync(Random random)
    {
        var streams = Enumerable.Range(0, random.Next(1, 4))
            .Select(_ => new StreamId(StreamTypes[random.Next(StreamTypes.Length)], Text(random, 1, random.Next(8) == 0 ? StreamId.MaxLength : 40, printable: true)))
            .Distinct()
            .ToArray();
        var versions = streams.ToDictionary(x => x, _ => 0L);
        var history = new List<Expected>();
        for (var save = random.Next(1, 5); save > 0; save--)
        {
            var saveNumber = ++_saves;
            await using var db = CreateContext();
            foreach (var stream in streams.Where(_ => random.Next(3) > 0).DefaultIfEmpty(streams[0]))
            {
                // Sometimes a stream's events in one save come from two appends (the second expecting the first's end).
                for (var append = random.Next(4) == 0 ? 2 : 1; append > 0; append--)
                {
                    var events = Enumerable.Range(0, random.Next(1, 5)).Select(_ => NewEvent(random)).ToArray();
                    db.Events().Append(stream, ExpectedVersion.Exactly(versions[stream]), events.Select(e => (object)e.Appended).ToArray());
                    foreach (var e in events)
                    {
                        history.Add(e with { Stream = stream, Version = ++versions[stream], Save = saveNumber });
                    }
                }
            }

            await SaveAsync(db, async: random.Next(2) == 0);
        }

        return history;
    }

    private static Expected NewEvent(Random random)
    {
        var (type, version, data) = random.Next(4) switch
        {
            0 => ("test.deposited", 1, (object)new Deposited(Math.Round((decimal)random.NextDouble() * 10_000, random.Next(0, 5)))),
            1 => ("test.withdrawn", 2, new Withdrawn(random.Next(-1000, 1000), Text(random, 0, 30))),
            2 => ("test.renamed", 1, new Renamed(Text(random, 0, 60))),

            // Sometimes far larger than a network buffer (8 KB), in characters of 1 to 4 UTF-8 bytes.
            _ => ("test.blob", 1, new Blob(Text(random, 0, random.Next(4) == 0 ? 12_000 : 200))),
        };
        var metadata = random.Next(2) == 0
            ? null
            : Enumerable.Range(0, random.Next(1, 4)).ToDictionary(i => "k" + i + Text(random, 0, 8, printable: true), _ => Text(random, 0, 20));
        var timestamp = random.Next(2) == 0
            ? (DateTimeOffset?)null
            : new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(random.NextInt64(0, 10L * 365 * TimeSpan.TicksPerDay) / 10 * 10);
        return new Expected(default, 0, new EventData(data) { EventId = Guid.NewGuid(), Metadata = metadata, Timestamp = timestamp }, type, version, Save: 0);
    }

    /// <summary>
    /// Random text: ASCII, JSON escapes (quote, backslash, control characters except NUL), Latin, CJK and surrogate pairs;
    /// for a stream id or a metadata key, no control characters.
    /// </summary>
    private static string Text(Random random, int min, int max, bool printable = false)
    {
        var length = random.Next(min, max + 1);
        var text = new StringBuilder(length);
        while (text.Length < length)
        {
            switch (random.Next(8))
            {
                case 0:
                    text.Append(printable ? '-' : "\"\\\n\t\u0001/"[random.Next(6)]);
                    break;
                case 1:
                    text.Append((char)random.Next(0xC0, 0x250));
                    break;
                case 2:
                    text.Append((char)random.Next(0x4E00, 0x9FFF));
                    break;
                case 3 when text.Length + 2 <= length:
                    text.Append(char.ConvertFromUtf32(random.Next(0x1F600, 0x1F64F)));
                    break;
                default:
                    text.Append((char)random.Next('a', 'z' + 1));
                    break;
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Asserts that read-all returned exactly the expected events, the saves in commit order (the order of the streams of
    /// one save is not specified, each stream's events in version order), each envelope as appended.
    /// </summary>
    private static void AssertSame(IReadOnlyList<RecordedEvent> read, IReadOnlyList<Expected> expected, string because)
    {
        var byId = expected.ToDictionary(x => x.Appended.EventId!.Value);
        Assert.That(read.Select(e => e.EventId), Is.Unique.And.EquivalentTo(byId.Keys), $"{because}: the events");
        Assert.That(read.Select(e => byId[e.EventId].Save), Is.EqualTo(expected.Select(x => x.Save)), $"{because}: the saves, in commit order");
        Assert.That(read.Select(e => e.Checkpoint), Is.Ordered.Ascending.And.Unique, because);
        foreach (var stream in read.GroupBy(e => e.StreamId))
        {
            Assert.That(stream.Select(e => e.Version), Is.EqualTo(expected.Where(x => x.Stream == stream.Key).Select(x => x.Version)), $"{because}: stream {stream.Key}, in version order");
        }

        for (var i = 0; i < read.Count; i++)
        {
            var (e, x) = (read[i], byId[read[i].EventId]);
            var at = $"{because}: event {i} ({x.Stream}@{x.Version})";
            Assert.That((e.StreamId, e.Version, e.EventType, e.StoredEventType, e.EventTypeVersion, e.ReceivedEventTypeVersion),
                Is.EqualTo((x.Stream, x.Version, x.EventType, x.EventType, x.EventTypeVersion, x.EventTypeVersion)), at);
            Assert.That(e.Data, Is.EqualTo(x.Appended.Data), at);
            Assert.That(e.Metadata, Is.EquivalentTo(x.Appended.Metadata ?? new Dictionary<string, string>()), at);
            Assert.That(e.Checkpoint.Position, Is.EqualTo(e.GlobalPosition), at);
            Assert.That(e.Timestamp.Offset, Is.EqualTo(TimeSpan.Zero), at);
            if (x.Appended.Timestamp is { } timestamp)
            {
                Assert.That(e.Timestamp, Is.EqualTo(timestamp), at);
            }
        }
    }

    /// <summary>An appended event (its id, data, metadata and timestamp), where, and under which type name and version it is stored.</summary>
    private sealed record Expected(StreamId Stream, long Version, EventData Appended, string EventType, int EventTypeVersion, int Save);
}
