using System.Text.Json;
using EventSourcing.EFCore.Storage;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Events, metadata and snapshots with System.Text.Json polymorphic members read back exactly as written, whatever the
/// key order the database keeps (PostgreSQL's jsonb moves <c>$type</c> behind shorter keys).
/// </summary>
public abstract class PolymorphicEventTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private static readonly PaymentMethod[] Methods = [new Card("4111", 2031), new BankTransfer("DE89370400440532013000")];

    [Test]
    public virtual async Task A_polymorphic_member_round_trips_through_stream_read_all_fold_and_catch_up([Values] bool async)
    {
        var stream = NewStream("payments");
        var written = Methods.Select((m, i) => new Paid(10m + i, m)).ToArray();
        await using (var db = CreateContext())
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, written.Select(p => new EventData(p)).ToArray());
            await SaveAsync(db, async);
        }

        var seen = new List<Paid>();
        await using (var db = CreateContext(es => es.AddProjection<TestDbContext>("payments", p => p.On<Paid>((_, e, _) => seen.Add(e)))))
        {
            Assert.That((await ToListAsync(db.Events().ReadStreamAsync(stream))).Select(e => e.Data), Is.EqualTo(written), "stream read");
            Assert.That((await ToListAsync(db.Events().ReadAllAsync(GlobalCheckpoint.Start))).Select(e => e.Data), Is.EqualTo(written), "read-all");
            var folded = await db.Events().AggregateStreamAsync(stream, new List<object>(), (list, e) => [.. list, e.Data]);
            Assert.That(folded, Is.EqualTo(written), "live fold");
            Assert.That(await db.Projections().CatchUpAsync("payments"), Is.EqualTo(2));
        }

        Assert.That(seen, Is.EqualTo(written), "catch-up projection");
    }

    [Test]
    public virtual async Task A_stored_payload_with_the_type_discriminator_last_reads_back()
    {
        var stream = NewStream("payments");
        await using (var db = CreateContext())
        {
            db.Set<StoredEvent>().Add(new StoredEvent
            {
                StreamType = stream.Type,
                StreamId = stream.Id,
                Sequence = 1,
                EventId = Guid.NewGuid(),
                EventType = "test.paid",
                EventVersion = 1,
                Payload = """{"method":{"iban":"NL91ABNA0417164300","$type":"transfer"},"amount":5}""",
                CreatedAt = DateTimeOffset.UtcNow,
            });
            await db.SaveChangesAsync();
        }

        var read = (await ReadStreamAsync(stream)).Single();
        Assert.That(read.Data, Is.EqualTo(new Paid(5m, new BankTransfer("NL91ABNA0417164300"))));
    }

    [Test]
    public virtual async Task An_aggregate_with_polymorphic_state_loads_the_same_from_its_snapshot_and_from_a_full_replay([Values] bool async)
    {
        var id = Guid.NewGuid();
        await using (var db = CreateContext(es => es.SnapshotEvery<Wallet>(3)))
        {
            var wallet = Wallet.Open(id);
            wallet.Pay(1.5m, Methods[0]);
            wallet.Pay(2.25m, Methods[1]);
            db.Aggregates<Wallet>().Add(wallet);
            await SaveAsync(db, async);
        }

        await using (var db = CreateContext())
        {
            var snapshot = await db.Set<StoredSnapshot>().AsNoTracking().SingleAsync(s => s.StreamId == id.ToString());
            Assert.That(snapshot.Version, Is.EqualTo(3), "a snapshot was taken");
            Assert.That(snapshot.State, Does.Contain("$type"));
        }

        Wallet fromSnapshot;
        await using (var db = CreateContext())
        {
            fromSnapshot = await db.Aggregates<Wallet>().LoadAsync(id);
        }

        Wallet replayed;
        await using (var db = CreateContext())
        {
            await db.Set<StoredSnapshot>().Where(s => s.StreamId == id.ToString()).ForEachAsync(s => db.Remove(s));
            await db.SaveChangesAsync();
            replayed = await db.Aggregates<Wallet>().LoadAsync(id);
        }

        Assert.That(fromSnapshot.Methods, Is.EqualTo(Methods));
        Assert.That(fromSnapshot.Paid, Is.EqualTo(3.75m));
        Assert.That(replayed.Methods, Is.EqualTo(fromSnapshot.Methods));
        Assert.That(replayed.Paid, Is.EqualTo(fromSnapshot.Paid));
    }

    [Test]
    public virtual async Task A_snapshot_with_the_type_discriminator_last_loads_without_being_ignored()
    {
        var id = Guid.NewGuid();
        await using (var db = CreateContext(es => es.SnapshotEvery<Wallet>(2)))
        {
            var wallet = Wallet.Open(id);
            wallet.Pay(4m, Methods[1]);
            db.Aggregates<Wallet>().Add(wallet);
            await db.SaveChangesAsync();
        }

        await using (var db = CreateContext())
        {
            // Move every $type behind the other keys, as jsonb may.
            var row = await db.Set<StoredSnapshot>().SingleAsync(s => s.StreamId == id.ToString());
            using var document = JsonDocument.Parse(row.State);
            row.State = Reorder(document.RootElement);
            Assert.That(row.State, Does.Match("\"iban\":\"[^\"]*\",\"\\$type\""));
            await db.SaveChangesAsync();
        }

        await using (var db = CreateContext())
        {
            var loaded = await db.Aggregates<Wallet>().LoadAsync(id);
            Assert.That(loaded.Methods, Is.EqualTo(new[] { Methods[1] }));
            Assert.That(loaded.Paid, Is.EqualTo(4m));
            Assert.That(loaded.AppliedSinceLoad, Is.Zero, "the state came from the snapshot, not from a replay");
        }
    }

    /// <summary>Writes <paramref name="element"/> back with <c>$type</c> as the last key of every object.</summary>
    private static string Reorder(JsonElement element)
        => element.ValueKind switch
        {
            JsonValueKind.Object => "{" + string.Join(",", element.EnumerateObject()
                .OrderBy(p => p.Name == "$type" ? 1 : 0)
                .Select(p => JsonSerializer.Serialize(p.Name) + ":" + Reorder(p.Value))) + "}",
            JsonValueKind.Array => "[" + string.Join(",", element.EnumerateArray().Select(Reorder)) + "]",
            _ => element.GetRawText(),
        };
}
