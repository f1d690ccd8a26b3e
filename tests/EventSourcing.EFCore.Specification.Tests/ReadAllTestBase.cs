using NUnit.Framework;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>Reading all events: commit order across streams, checkpoints that resume exactly after an event, paging.</summary>
public abstract class ReadAllTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    [Test]
    public virtual async Task ReadAll_returns_every_event_in_commit_order_across_streams()
    {
        var a = NewStream();
        var b = NewStream("order");
        var ids = new List<Guid>();
        ids.AddRange(await SeedAsync(a, 2));
        ids.AddRange(await SeedAsync(b, 3));
        ids.AddRange(await SeedAsync(a, 1));

        var all = await ReadAllAsync();
        Assert.That(all.Select(e => e.EventId), Is.EqualTo(ids));
        Assert.That(all.Select(e => e.Checkpoint), Is.Ordered.Ascending);
        Assert.That(all.Where(e => e.StreamId == a).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(all.Where(e => e.StreamId == b).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3 }));
    }

    [Test]
    public virtual async Task ReadAll_from_a_checkpoint_returns_only_the_events_after_it()
    {
        var stream = NewStream();
        await SeedAsync(stream, 5);
        var first = await ReadAllAsync();
        var resumed = await ReadAllAsync(first[2].Checkpoint);
        Assert.That(resumed.Select(e => e.EventId), Is.EqualTo(first.Skip(3).Select(e => e.EventId)));

        Assert.That(await ReadAllAsync(first[^1].Checkpoint), Is.Empty);
        var more = await SeedAsync(stream, 2);
        Assert.That((await ReadAllAsync(first[^1].Checkpoint)).Select(e => e.EventId), Is.EqualTo(more));
    }

    [Test]
    public virtual async Task ReadAll_pages_through_every_event_whatever_the_batch_size([Values(1, 2, 7, 1000)] int batchSize)
    {
        var stream = NewStream();
        var ids = await SeedAsync(stream, 15);
        await using var db = CreateContext();
        var all = await ToListAsync(db.Events().ReadAllAsync(GlobalCheckpoint.Start, batchSize));
        Assert.That(all.Select(e => e.EventId), Is.EqualTo(ids));
    }

    [Test]
    public virtual async Task ReadAll_of_an_empty_store_is_empty()
        => Assert.That(await ReadAllAsync(), Is.Empty);

    [Test]
    public virtual async Task Checkpoints_round_trip_through_strings()
    {
        var stream = NewStream();
        await SeedAsync(stream, 3);
        var all = await ReadAllAsync();
        var parsed = GlobalCheckpoint.Parse(all[1].Checkpoint.ToString());
        Assert.That(parsed, Is.EqualTo(all[1].Checkpoint));
        Assert.That((await ReadAllAsync(parsed)).Select(e => e.EventId), Is.EqualTo(new[] { all[2].EventId }));
    }

    [Test]
    public virtual async Task ReadStream_and_ReadAll_give_the_same_envelopes()
    {
        var stream = NewStream();
        await SeedAsync(stream, 3);
        var fromStream = await ReadStreamAsync(stream);
        var fromAll = await ReadAllAsync();
        Assert.That(fromAll.Select(e => (e.EventId, e.Version, e.GlobalPosition, e.Checkpoint)),
            Is.EqualTo(fromStream.Select(e => (e.EventId, e.Version, e.GlobalPosition, e.Checkpoint))));
    }

    [Test]
    public virtual async Task ReadAll_returns_the_envelope_as_appended_with_metadata_present_or_absent()
    {
        var stream = NewStream("café-客户");
        var (withMetadata, withoutMetadata) = (Guid.NewGuid(), Guid.NewGuid());
        var timestamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1230);
        var metadata = new Dictionary<string, string> { ["correlation-id"] = "c-1", ["user"] = "ädä \"q\" \\ 😀" };
        await using (var db = CreateContext())
        {
            await db.Events().AppendAsync(stream, ExpectedVersion.NoStream, [
                new EventData(new Withdrawn(12.5m, "rent ✓")) { EventId = withMetadata, Metadata = metadata, Timestamp = timestamp },
                new EventData(new Deposited(3)) { EventId = withoutMetadata },
            ]);
        }

        var all = await ReadAllAsync();
        Assert.That(all, Has.Count.EqualTo(2));
        var (first, second) = (all[0], all[1]);
        Assert.That((first.StreamId, first.Version, first.EventId, first.EventType, first.EventTypeVersion), Is.EqualTo((stream, 1L, withMetadata, "test.withdrawn", 2)));
        Assert.That(first.Data, Is.EqualTo(new Withdrawn(12.5m, "rent ✓")));
        Assert.That(first.Metadata, Is.EquivalentTo(metadata));
        Assert.That((first.Timestamp, first.Timestamp.Offset), Is.EqualTo((timestamp, TimeSpan.Zero)));
        Assert.That((second.StreamId, second.Version, second.EventId, second.EventType, second.Data), Is.EqualTo((stream, 2L, withoutMetadata, "test.deposited", (object)new Deposited(3))));
        Assert.That(second.Metadata, Is.Empty);

        // Every member equals what reading the stream returns.
        Assert.That(all.Select(Envelope), Is.EqualTo((await ReadStreamAsync(stream)).Select(Envelope)));
    }

    private static object Envelope(RecordedEvent e)
        => (e.StreamId, e.Version, e.GlobalPosition, e.Checkpoint, e.EventId, e.EventType, e.StoredEventType, e.EventTypeVersion, e.ReceivedEventTypeVersion,
            e.Data, string.Join("|", e.Metadata.OrderBy(m => m.Key, StringComparer.Ordinal)), e.Timestamp);

    [Test]
    public virtual async Task ReadAll_honours_cancellation()
    {
        await SeedAsync(NewStream(), 2);
        await using var db = CreateContext();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        Assert.That(
            async () => await ToListAsync(db.Events().ReadAllAsync(GlobalCheckpoint.Start, cancellationToken: cts.Token)),
            Throws.InstanceOf<OperationCanceledException>());
    }
}
