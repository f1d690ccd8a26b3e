using System.Globalization;
using System.Text;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// What an aggregate load reads, whatever the stream holds: many event types under names in any script (read by the
/// PostgreSQL load as UTF-8 bytes and looked up per load), some of them stored under names that are now aliases, loaded
/// whole, at a version, from a snapshot with a tail; and a stream with a gap is reported as corruption, not replayed.
/// Seeded: set EVENTSOURCING_TEST_SEED to replay a run.
/// </summary>
public abstract class AggregateLoadTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private static readonly string[] Pieces = ["a", "Z", "0", ".", "-", "_", "é", "ß", "Ω", "я", "中", "文", "🙂", "𝄞"];

    private static Random Seeded()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("EVENTSOURCING_TEST_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed} (EVENTSOURCING_TEST_SEED replays it)");
        return new Random(seed);
    }

    private static string RandomName(Random random, string prefix, int index)
    {
        var name = new StringBuilder(prefix).Append(index.ToString(CultureInfo.InvariantCulture)).Append('.');
        for (int i = 0, n = random.Next(0, 30); i < n; i++)
        {
            name.Append(Pieces[random.Next(Pieces.Length)]);
        }

        return name.Append('.').Append(index).ToString();
    }

    [Test]
    public virtual async Task A_load_reads_every_event_under_its_type_whatever_the_names_their_number_and_aliases([Values] bool async)
    {
        var random = Seeded();
        var types = NoteBook.NoteTypes;
        var stored = types.Select((_, i) => RandomName(random, "note-", i)).ToArray();
        var renamed = types.Select((_, i) => i % 3 == 0 ? RandomName(random, "renamed-", i) : null).ToArray();
        void Writer(EventSourcingDbContextOptionsBuilder es)
        {
            for (var i = 0; i < types.Count; i++)
            {
                es.MapEvent(types[i], stored[i]);
            }
        }

        // The reader knows every third type by a new name, reading the name it was stored under as an alias.
        void Reader(EventSourcingDbContextOptionsBuilder es)
        {
            for (var i = 0; i < types.Count; i++)
            {
                es.MapEvent(types[i], renamed[i] ?? stored[i], 1, renamed[i] is null ? [] : [stored[i]]);
            }
        }

        var id = Guid.NewGuid();
        var stream = StreamId.For<NoteBook>(id);
        var texts = new List<string>();
        var snapshotAt = 0L;
        while (texts.Count < 150)
        {
            await using var db = CreateContext(Writer);
            var batch = Enumerable.Range(0, random.Next(1, 12)).Select(_ =>
            {
                var type = random.Next(2) == 0 ? random.Next(3) : random.Next(types.Count); // a few types often, every type sometimes
                var text = $"{texts.Count}:{RandomName(random, "t", type)}";
                texts.Add(text);
                return NoteBook.Note(type, id, text);
            }).ToArray();
            db.Events().Append(stream, ExpectedVersion.Any, batch);
            await SaveAsync(db, async);
            if (snapshotAt == 0 && texts.Count >= 60)
            {
                await using var snap = CreateContext(Reader);
                snapshotAt = await snap.Aggregates<NoteBook>().SnapshotAsync(id);
            }
        }

        await using (var read = CreateContext(Reader))
        {
            var book = await read.Aggregates<NoteBook>().LoadAsync(id);
            Assert.That(book.Texts, Is.EqualTo(texts), "from the snapshot and its tail");
            Assert.That(book.Version, Is.EqualTo(texts.Count));
        }

        await using (var read = CreateContext(Reader))
        {
            var version = random.Next(1, texts.Count + 1);
            var book = await read.Aggregates<NoteBook>().LoadAsync(id, version);
            Assert.That(book.Texts, Is.EqualTo(texts.Take(version)), $"at version {version}");
        }

        await using (var read = CreateContext(Reader))
        {
            var version = random.Next(1, (int)snapshotAt);
            var book = await read.Aggregates<NoteBook>().LoadAsync(id, version);
            Assert.That(book.Texts, Is.EqualTo(texts.Take(version)), $"at version {version}, below the snapshot at {snapshotAt}");
        }
    }

    [Test]
    public virtual async Task A_stream_with_a_gap_is_reported_as_corruption_naming_the_missing_version([Values] bool snapshotted)
    {
        var random = Seeded();
        var id = Guid.NewGuid();
        var stream = StreamId.For<NoteBook>(id);
        await using (var db = CreateContext(WriterOfAll))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, Enumerable.Range(1, 20).Select(i => NoteBook.Note(i % 3, id, "n" + i)).ToArray());
            await db.SaveChangesAsync();
        }

        if (snapshotted)
        {
            await using var db = CreateContext(WriterOfAll);
            Assert.That(await db.Aggregates<NoteBook>().SnapshotAsync(id), Is.EqualTo(20));
            db.Events().Append(stream, ExpectedVersion.Exactly(20), Enumerable.Range(21, 10).Select(i => NoteBook.Note(i % 3, id, "n" + i)).ToArray());
            await db.SaveChangesAsync();
        }

        var missing = snapshotted ? random.Next(22, 30) : random.Next(2, 20);
        await using (var db = CreateContext(WriterOfAll))
        {
            var row = await db.Set<StoredEvent>().SingleAsync(e => e.StreamType == stream.Type && e.StreamId == stream.Id && e.Sequence == missing);
            db.Remove(row);
            await db.SaveChangesAsync();
        }

        await using var read = CreateContext(WriterOfAll);
        var ex = Assert.ThrowsAsync<EventStoreCorruptionException>(() => read.Aggregates<NoteBook>().LoadAsync(id));
        Assert.That(ex!.StreamId, Is.EqualTo(stream));
        Assert.That(ex.Message, Does.Contain($"no event at version {missing};"), "names the missing version");
    }

    private static void WriterOfAll(EventSourcingDbContextOptionsBuilder es)
    {
        for (var i = 0; i < NoteBook.NoteTypes.Count; i++)
        {
            es.MapEvent(NoteBook.NoteTypes[i], "notebook.note-" + i.ToString(CultureInfo.InvariantCulture));
        }
    }
}
