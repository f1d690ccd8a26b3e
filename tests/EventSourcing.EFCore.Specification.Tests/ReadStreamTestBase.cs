using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>Reading a stream: inclusive version ranges, paging to the end, envelopes, versions, corruption checks.</summary>
public abstract class ReadStreamTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    [Test]
    public virtual async Task ReadStream_returns_the_inclusive_version_range()
    {
        var stream = NewStream();
        await SeedAsync(stream, 10);
        await using var db = CreateContext();

        var middle = await ToListAsync(db.Events().ReadStreamAsync(stream, fromVersion: 3, toVersion: 6));
        var tail = await ToListAsync(db.Events().ReadStreamAsync(stream, fromVersion: 9));
        var single = await ToListAsync(db.Events().ReadStreamAsync(stream, fromVersion: 10, toVersion: 10));
        var beyond = await ToListAsync(db.Events().ReadStreamAsync(stream, fromVersion: 11));
        var fromZero = await ToListAsync(db.Events().ReadStreamAsync(stream, fromVersion: 0, toVersion: 2));

        Assert.That(middle.Select(e => e.Version), Is.EqualTo(new long[] { 3, 4, 5, 6 }));
        Assert.That(middle.Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(new decimal[] { 3, 4, 5, 6 }));
        Assert.That(tail.Select(e => e.Version), Is.EqualTo(new long[] { 9, 10 }));
        Assert.That(single.Select(e => e.Version), Is.EqualTo(new long[] { 10 }));
        Assert.That(beyond, Is.Empty);
        Assert.That(fromZero.Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
    }

    [Test]
    public virtual async Task ReadStream_of_a_missing_stream_is_empty_and_its_version_is_null()
    {
        var stream = NewStream();
        await using var db = CreateContext();
        Assert.That(await ToListAsync(db.Events().ReadStreamAsync(stream)), Is.Empty);
        Assert.That(await db.Events().GetStreamVersionAsync(stream), Is.Null);
    }

    [Test]
    public virtual async Task ReadStream_pages_past_its_page_size_without_truncating()
    {
        var stream = NewStream();
        const int count = 2500; // more than two internal pages of 1000
        await using (var db = CreateContext())
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, Enumerable.Range(1, count).Select(i => (object)new Deposited(i)));
            await db.SaveChangesAsync();
        }

        var events = await ReadStreamAsync(stream);
        Assert.That(events, Has.Count.EqualTo(count));
        Assert.That(events.Select(e => e.Version), Is.EqualTo(Enumerable.Range(1, count).Select(i => (long)i)));
        await using var check = CreateContext();
        Assert.That(await check.Events().GetStreamVersionAsync(stream), Is.EqualTo(count));
    }

    [Test]
    public virtual async Task ReadStream_returns_the_envelope_as_appended()
    {
        var stream = NewStream();
        var id = Guid.NewGuid();
        var timestamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var metadata = new Dictionary<string, string> { ["correlation-id"] = "c-1", ["user"] = "ada" };
        await using (var db = CreateContext())
        {
            await db.Events().AppendAsync(stream, ExpectedVersion.NoStream,
                [new EventData(new Withdrawn(12.5m, "rent")) { EventId = id, Metadata = metadata, Timestamp = timestamp }]);
        }

        var e = (await ReadStreamAsync(stream)).Single();
        Assert.That(e.EventId, Is.EqualTo(id));
        Assert.That(e.StreamId, Is.EqualTo(stream));
        Assert.That(e.Version, Is.EqualTo(1));
        Assert.That(e.Data, Is.EqualTo(new Withdrawn(12.5m, "rent")));
        Assert.That(e.EventType, Is.EqualTo("test.withdrawn"));
        Assert.That(e.EventTypeVersion, Is.EqualTo(2));
        Assert.That(e.Metadata, Is.EquivalentTo(metadata));
        Assert.That(e.Timestamp, Is.EqualTo(timestamp));
        Assert.That(e.Timestamp.Offset, Is.EqualTo(TimeSpan.Zero));
        Assert.That(e.GlobalPosition, Is.GreaterThan(0));
        Assert.That(e.Checkpoint.Position, Is.EqualTo(e.GlobalPosition));
    }

    [Test]
    public virtual async Task Generated_event_ids_are_version_7_uuids_and_timestamps_are_utc()
    {
        var stream = NewStream();
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        await SeedAsync(stream, 0);
        await using (var db = CreateContext())
        {
            await db.Events().AppendAsync(stream, ExpectedVersion.NoStream, [new Deposited(1), new Deposited(2)]);
        }

        var events = await ReadStreamAsync(stream);
        Assert.That(events.Select(e => e.EventId.Version), Is.All.EqualTo(7));
        Assert.That(events.Select(e => e.EventId).Distinct().Count(), Is.EqualTo(2));
        Assert.That(events.Select(e => e.Timestamp), Is.All.GreaterThan(before));
        Assert.That(events.Select(e => e.Timestamp.Offset), Is.All.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public virtual async Task Events_without_metadata_read_back_with_empty_metadata()
    {
        var stream = NewStream();
        await SeedAsync(stream, 1);
        var e = (await ReadStreamAsync(stream)).Single();
        Assert.That(e.Metadata, Is.Empty);
    }

    [Test]
    public virtual async Task A_stored_event_with_an_unknown_type_name_fails_with_EventDeserializationException()
    {
        var stream = NewStream();
        await InsertRawAsync(stream, 1, "test.no-such-type", """{"amount":1}""");
        await using var db = CreateContext();
        var ex = Assert.ThrowsAsync<EventDeserializationException>(() => ToListAsync(db.Events().ReadStreamAsync(stream)));
        Assert.That(ex!.EventType, Is.EqualTo("test.no-such-type"));
        Assert.That(ex.StreamId, Is.EqualTo(stream));
        Assert.That(ex.Version, Is.EqualTo(1));
        Assert.That(ex.InnerException, Is.TypeOf<UnknownEventTypeException>());
    }

    [Test]
    public virtual async Task A_payload_that_does_not_fit_its_type_fails_with_EventDeserializationException()
    {
        var stream = NewStream();
        await InsertRawAsync(stream, 1, "test.deposited", "\"not an object\"");
        await using var db = CreateContext();
        var ex = Assert.ThrowsAsync<EventDeserializationException>(() => ToListAsync(db.Events().ReadStreamAsync(stream)));
        Assert.That(ex!.StreamId, Is.EqualTo(stream));
        Assert.That(ex.GlobalPosition, Is.EqualTo((await db.Set<Storage.StoredEvent>().SingleAsync()).GlobalPosition));
        Assert.That(ex.InnerException, Is.InstanceOf<System.Text.Json.JsonException>());
    }

    [Test]
    public virtual async Task Metadata_that_is_not_a_flat_string_map_fails_with_EventDeserializationException()
    {
        var stream = NewStream();
        await InsertRawAsync(stream, 1, "test.deposited", """{"amount":1}""", metadata: """{"nested":{"a":1}}""");
        await using var db = CreateContext();
        var ex = Assert.ThrowsAsync<EventDeserializationException>(() => ToListAsync(db.Events().ReadStreamAsync(stream)));
        Assert.That(ex!.Message, Does.Contain("metadata"));
    }

    [Test]
    public virtual async Task ReadStream_honours_cancellation()
    {
        var stream = NewStream();
        await SeedAsync(stream, 3);
        await using var db = CreateContext();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        Assert.That(
            async () => await ToListAsync(db.Events().ReadStreamAsync(stream, cancellationToken: cts.Token)),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(
            async () => await db.Events().GetStreamVersionAsync(stream, cts.Token),
            Throws.InstanceOf<OperationCanceledException>());
    }

    /// <summary>Writes a row directly through EF (bypassing the library), as corrupt or foreign data would arrive.</summary>
    protected async Task InsertRawAsync(StreamId stream, long sequence, string eventType, string payload, string? metadata = null)
    {
        await using var db = CreateContext();
        db.Set<Storage.StoredEvent>().Add(new Storage.StoredEvent
        {
            StreamType = stream.Type,
            StreamId = stream.Id,
            Sequence = sequence,
            EventId = Guid.NewGuid(),
            EventType = eventType,
            EventVersion = 1,
            Payload = payload,
            Metadata = metadata,
            CreatedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync();
    }
}
