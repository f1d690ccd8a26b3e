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
