using System.Text.Json;
using EventSourcing.EFCore.Storage;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// A stored row that cannot become an event (unknown type name, JSON that does not fit, a constructor that throws)
/// raises <see cref="EventDeserializationException"/> naming stream, version, global position and stored type name,
/// with the underlying error inside, on every read path.
/// </summary>
public abstract class UnreadableEventTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    public enum Unreadable
    {
        UnknownTypeName,
        JsonThatDoesNotFit,
        ConstructorThrows,
    }

    public enum ReadPath
    {
        ReadStream,
        ReadAll,
        AggregateLoad,
        LiveFold,
        CatchUpProjection,
    }

    [Test]
    public virtual async Task An_unreadable_row_raises_EventDeserializationException_on_every_read_path([Values] Unreadable kind, [Values] ReadPath path)
    {
        var id = Guid.NewGuid();
        var stream = StreamId.For<BankAccount>(id);
        await using (var db = CreateContext())
        {
            db.Aggregates<BankAccount>().Add(BankAccount.Open(id, "Ada"));
            await db.SaveChangesAsync();
        }

        var (type, payload) = kind switch
        {
            Unreadable.UnknownTypeName => ("test.deleted-long-ago", """{"amount":1}"""),
            Unreadable.JsonThatDoesNotFit => ("test.deposited", """{"amount":"twelve"}"""),
            _ => ("test.guarded", """{"value":-1}"""),
        };
        var position = await InsertRawAsync(stream, 2, type, payload);

        await using var read = CreateContext(es => es.AddProjection<TestDbContext>("everything", p => p.On<object>((_, _, _) => { })));
        Func<Task> call = path switch
        {
            ReadPath.ReadStream => () => ToListAsync(read.Events().ReadStreamAsync(stream)),
            ReadPath.ReadAll => () => ToListAsync(read.Events().ReadAllAsync(GlobalCheckpoint.Start)),
            ReadPath.AggregateLoad => () => read.Aggregates<BankAccount>().LoadAsync(id),
            ReadPath.LiveFold => () => read.Events().AggregateStreamAsync(stream, 0, (n, _) => n + 1),
            _ => () => read.Projections().CatchUpAsync("everything"),
        };

        if (path == ReadPath.CatchUpProjection && kind == Unreadable.UnknownTypeName)
        {
            // A projection reads only the registered types it handles: a type name no type has is never read.
            Assert.That(await read.Projections().CatchUpAsync("everything"), Is.EqualTo(1));
            return;
        }

        var thrown = Assert.CatchAsync(() => call())!;
        if (path == ReadPath.CatchUpProjection)
        {
            Assert.That(thrown, Is.TypeOf<ProjectionFailedException>());
            Assert.That(((ProjectionFailedException)thrown).GlobalPosition, Is.EqualTo(position));
            thrown = thrown.InnerException!;
        }

        Assert.That(thrown, Is.TypeOf<EventDeserializationException>());
        var error = (EventDeserializationException)thrown;
        Assert.That(error.StreamId, Is.EqualTo(stream));
        Assert.That(error.Version, Is.EqualTo(2));
        Assert.That(error.GlobalPosition, Is.EqualTo(position));
        Assert.That(error.EventType, Is.EqualTo(type));
        Assert.That(error.Message, Does.Contain(stream.ToString()).And.Contain(type).And.Contain(position.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(error.InnerException, kind switch
        {
            Unreadable.UnknownTypeName => Is.TypeOf<UnknownEventTypeException>(),
            Unreadable.JsonThatDoesNotFit => Is.InstanceOf<JsonException>(),
            _ => Is.Not.InstanceOf<JsonException>().And.Not.Null,
        });
    }

    [Test]
    public virtual async Task Metadata_that_is_not_a_flat_string_map_raises_EventDeserializationException_on_read_all_and_read_stream([Values] bool readAll)
    {
        var stream = NewStream();
        var position = await InsertRawAsync(stream, 1, "test.deposited", """{"amount":1}""", metadata: """{"nested":{"a":1}}""");
        await using var read = CreateContext();
        var error = Assert.ThrowsAsync<EventDeserializationException>(() => readAll
            ? ToListAsync(read.Events().ReadAllAsync(GlobalCheckpoint.Start))
            : ToListAsync(read.Events().ReadStreamAsync(stream)))!;
        Assert.That((error.StreamId, error.Version, error.GlobalPosition, error.EventType), Is.EqualTo((stream, 1L, position, "test.deposited")));
        Assert.That(error.Message, Does.Contain("metadata"));
        Assert.That(error.InnerException, Is.InstanceOf<JsonException>());
    }

    /// <summary>Writes a row directly through EF (bypassing the library), as corrupt or foreign data would arrive; returns its position.</summary>
    protected async Task<long> InsertRawAsync(StreamId stream, long sequence, string eventType, string payload, string? metadata = null)
    {
        await using var db = CreateContext();
        var row = new StoredEvent
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
        };
        db.Set<StoredEvent>().Add(row);
        await db.SaveChangesAsync();
        return row.GlobalPosition;
    }
}
