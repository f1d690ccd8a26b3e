using EventSourcing.EFCore.Streams.Internal;
using NUnit.Framework;
using static EventSourcing.EFCore.ExpectedVersion;

namespace EventSourcing.EFCore.Tests;

/// <summary>
/// The classifier on its own (DESIGN.md section 5): given the batches of one save, the streams' current versions and
/// where the batches' ids are stored, which exception (if any) the save raises.
/// </summary>
public sealed class AppendConflictClassifierTests
{
    private static readonly StreamId A = new("account", "a");
    private static readonly StreamId B = new("account", "b");
    private readonly Dictionary<string, Guid> _ids = [];

    private Guid Id(string name)
    {
        if (!_ids.TryGetValue(name, out var id))
        {
            _ids[name] = id = Guid.CreateVersion7();
        }

        return id;
    }

    private PendingAppend Batch(StreamId stream, ExpectedVersion expected, params string[] ids)
        => new(stream, expected, ids.Select(id => new PreparedEvent(Id(id), "test", 1, new object(), "{}", null, DateTimeOffset.UnixEpoch)).ToArray());

    /// <summary>Stores <paramref name="ids"/> in <paramref name="stream"/> from version <paramref name="firstVersion"/> on.</summary>
    private Dictionary<Guid, StoredLocation> Stored(StreamId stream, long firstVersion, params string[] ids)
        => ids.Select((id, i) => (Id(id), new StoredLocation(stream, firstVersion + i))).ToDictionary(x => x.Item1, x => x.Item2);

    private static Dictionary<Guid, StoredLocation> Merge(params Dictionary<Guid, StoredLocation>[] parts)
        => parts.SelectMany(p => p).ToDictionary(p => p.Key, p => p.Value);

    private static Exception? Classify(PendingAppend[] batches, Dictionary<StreamId, long> versions, Dictionary<Guid, StoredLocation> stored, Exception? inner = null)
        => AppendConflictClassifier.Classify(batches, versions, stored, inner);

    [Test]
    public void Fresh_ids_at_the_expected_version_are_no_conflict()
        => Assert.That(Classify([Batch(A, Exactly(2), "n1")], new() { [A] = 2 }, []), Is.Null);

    [Test]
    public void A_replay_whatever_the_expected_version_is_EventsAlreadyAppended([Values] bool stale)
    {
        var ex = Classify([Batch(A, stale ? NoStream : Exactly(3), "a2", "a3")], new() { [A] = 3 }, Stored(A, 1, "a1", "a2", "a3"));
        Assert.That(ex, Is.TypeOf<EventsAlreadyAppendedException>());
        var replay = (EventsAlreadyAppendedException)ex!;
        Assert.That((replay.StreamId, replay.FirstVersion, replay.LastVersion, replay.CurrentVersion), Is.EqualTo((A, 2L, 3L, 3L)));
    }

    [Test]
    public void Stored_ids_out_of_order_are_a_DuplicateEventIdException_on_the_first_stored_id()
    {
        var ex = Classify([Batch(A, NoStream, "a2", "a1")], new() { [A] = 2 }, Stored(A, 1, "a1", "a2"));
        Assert.That(ex, Is.TypeOf<DuplicateEventIdException>());
        var duplicate = (DuplicateEventIdException)ex!;
        Assert.That((duplicate.EventId, duplicate.StreamId, duplicate.ExistingStreamId, duplicate.ExistingVersion), Is.EqualTo((Id("a2"), A, A, 2L)));
    }

    [Test]
    public void An_id_clash_outranks_a_version_conflict_in_the_same_batch()
    {
        var ex = Classify([Batch(A, Exactly(1), "b1")], new() { [A] = 2 }, Stored(B, 1, "b1"));
        Assert.That(ex, Is.TypeOf<DuplicateEventIdException>());
        Assert.That(((DuplicateEventIdException)ex!).ExistingStreamId, Is.EqualTo(B));
    }

    [Test]
    public void A_version_conflict_outranks_a_replay_in_another_batch()
    {
        var ex = Classify(
            [Batch(A, NoStream, "a1"), Batch(B, Exactly(1), "n1")],
            new() { [A] = 1, [B] = 2 },
            Merge(Stored(A, 1, "a1"), Stored(B, 1, "b1", "b2")));
        Assert.That(ex, Is.TypeOf<StreamConcurrencyException>());
        var conflict = (StreamConcurrencyException)ex!;
        Assert.That((conflict.StreamId, conflict.ExpectedVersion, conflict.ActualVersion), Is.EqualTo((B, Exactly(1), (long?)2)));
    }

    [Test]
    public void A_replay_mixed_with_new_events_is_a_DuplicateEventIdException_not_already_appended()
    {
        var ex = Classify([Batch(A, NoStream, "a1", "a2"), Batch(B, NoStream, "n1")], new() { [A] = 2, [B] = 0 }, Stored(A, 1, "a1", "a2"));
        Assert.That(ex, Is.TypeOf<DuplicateEventIdException>());
        var duplicate = (DuplicateEventIdException)ex!;
        Assert.That((duplicate.EventId, duplicate.StreamId, duplicate.ExistingStreamId, duplicate.ExistingVersion), Is.EqualTo((Id("a1"), A, A, 1L)));
    }

    [Test]
    public void StreamExists_on_a_stream_without_events_is_StreamNotFoundException()
    {
        var ex = Classify([Batch(A, StreamExists, "n1")], new() { [A] = 0 }, []);
        Assert.That(ex, Is.TypeOf<StreamNotFoundException>());
        Assert.That(((StreamNotFoundException)ex!).StreamId, Is.EqualTo(A));
    }

    [Test]
    public void A_conflict_on_a_stream_without_events_reports_a_null_actual_version()
    {
        var ex = (StreamConcurrencyException?)Classify([Batch(A, Exactly(2), "n1")], new() { [A] = 0 }, []);
        Assert.That(ex!.ActualVersion, Is.Null);
    }

    [Test]
    public void Batches_to_one_stream_chain_in_staging_order()
    {
        Assert.That(Classify([Batch(A, Exactly(1), "n1"), Batch(A, Exactly(2), "n2")], new() { [A] = 1 }, []), Is.Null);
        var ex = (StreamConcurrencyException?)Classify([Batch(A, Exactly(1), "n1"), Batch(A, Exactly(1), "n2")], new() { [A] = 1 }, []);
        Assert.That(ex!.ActualVersion, Is.EqualTo(2));
    }

    [Test]
    public void An_empty_batch_is_checked_against_its_expected_version()
    {
        Assert.That(Classify([Batch(A, Exactly(2))], new() { [A] = 2 }, []), Is.Null);
        Assert.That(Classify([Batch(A, Exactly(1))], new() { [A] = 2 }, []), Is.TypeOf<StreamConcurrencyException>());
    }

    [Test]
    public void The_database_error_is_kept_as_inner_exception()
    {
        var inner = new InvalidOperationException("unique violation");
        var conflict = Classify([Batch(A, NoStream, "n1")], new() { [A] = 1 }, [], inner);
        var duplicate = Classify([Batch(A, NoStream, "b1")], new() { [A] = 0 }, Stored(B, 1, "b1"), inner);
        Assert.That(conflict!.InnerException, Is.SameAs(inner));
        Assert.That(duplicate!.InnerException, Is.SameAs(inner));
    }
}
