using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// What differs between database backends: who enforces the unique indexes, how a database error is recognised as
/// an event store conflict, and how read-all pages through the store in commit order.
/// </summary>
internal interface IEventStoreBackend
{
    /// <summary>
    /// Gets a value indicating whether the database enforces the event store's unique indexes. When false (EF InMemory),
    /// appends are checked in process under <see cref="InProcessAppendGuard"/>.
    /// </summary>
    bool EnforcesUniqueIndexes { get; }

    /// <summary>Returns true when <paramref name="exception"/> was raised by the event store's own indexes or guard.</summary>
    bool IsEventStoreConflict(DbUpdateException exception, EventStoreModel model);

    /// <summary>
    /// Reads, after a save the store rejected, what classifying the rejection needs: the current version of
    /// <paramref name="streams"/> and where <paramref name="eventIds"/> are stored, as last committed (plus the
    /// caller's own transaction where it can still be read).
    /// </summary>
    StoreState ReadAfterFailure(DbContext context, EventStoreModel model, IReadOnlyCollection<StreamId> streams, IReadOnlyCollection<Guid> eventIds);

    /// <inheritdoc cref="ReadAfterFailure"/>
    Task<StoreState> ReadAfterFailureAsync(
        DbContext context, EventStoreModel model, IReadOnlyCollection<StreamId> streams, IReadOnlyCollection<Guid> eventIds, CancellationToken cancellationToken);

    /// <summary>
    /// Returns true when the backend's command batch writes all event rows of a SaveChanges from ONE tracked row (the
    /// carrier, <see cref="SaveInProgress.Rows"/>[0]) with the others taken from <see cref="SaveInProgress.Rows"/>, so
    /// that EF tracks and plans one entity per save instead of one per event. Default: false (one entity per event).
    /// </summary>
    bool CarriesEventRows(EventStoreModel model) => false;

    /// <summary>
    /// Returns true when the backend can write a save's event rows itself (<see cref="WriteEventRows"/>) for a save that
    /// changes nothing else, instead of through EF's update pipeline (not when the context's connection is enlisted in
    /// a <c>System.Transactions</c> transaction EF manages). Default: false.
    /// </summary>
    bool WritesEventRows(DbContext context, EventStoreModel model) => false;

    /// <summary>
    /// Writes the event rows of <paramref name="plan"/> (its batches' events at their planned versions) as ONE statement on the context's connection (opened and closed as EF does) and in
    /// its current transaction (if any). A database error propagates as the provider's exception; the caller wraps it as EF would.
    /// </summary>
    void WriteEventRows(DbContext context, EventStoreModel model, AppendPlan plan) => throw new NotSupportedException();

    /// <inheritdoc cref="WriteEventRows"/>
    Task WriteEventRowsAsync(DbContext context, EventStoreModel model, AppendPlan plan, CancellationToken cancellationToken)
        => throw new NotSupportedException();

    /// <summary>
    /// Gets a value indicating whether the backend can lock streams for the rest of the current transaction
    /// (<see cref="LockStreams"/>), so that appends with <see cref="ExpectedVersion.Any"/> read a stream's end and write
    /// after it with no other such append in between. Default: false (EF InMemory has its process-wide guard).
    /// </summary>
    bool LocksStreams => false;

    /// <summary>Locks <paramref name="streams"/> until the current transaction ends, in a fixed order.</summary>
    void LockStreams(DbContext context, IReadOnlyList<StreamId> streams) => throw new NotSupportedException();

    /// <inheritdoc cref="LockStreams"/>
    Task LockStreamsAsync(DbContext context, IReadOnlyList<StreamId> streams, CancellationToken cancellationToken) => throw new NotSupportedException();

    /// <summary>
    /// Reads the rows a replay needs (sequence, type name, payload, time) of <paramref name="streamId"/> from
    /// <paramref name="fromVersion"/> to <paramref name="toVersion"/> in version order, in one query, handing each to
    /// <paramref name="onRow"/> until it returns false. Default: a compiled, no-tracking EF query; a backend may read
    /// more directly.
    /// </summary>
    Task ReplayAsync(
        DbContext context, EventStoreModel model, StreamId streamId, long fromVersion, long toVersion, Func<ReplayRow, bool> onRow, CancellationToken cancellationToken)
        => CompiledEventQueries.ReplayAsync(context, streamId, fromVersion, toVersion, onRow, cancellationToken);

    /// <summary>
    /// Reads what loading an aggregate needs (see <see cref="StreamLoad"/>): the newest usable snapshot and the events
    /// after it. Default: <see cref="StreamLoad.ReadWithQueriesAsync"/> (two queries); a backend may read both in one
    /// round trip.
    /// </summary>
    Task LoadAsync(DbContext context, EventStoreModel model, StreamLoad load, CancellationToken cancellationToken)
        => StreamLoad.ReadWithQueriesAsync(context, load, cancellationToken);

    /// <summary>
    /// Prepares the context for the pages of one read-all (on a relational database, opens its connection so that the
    /// pages share one physical connection). Default: nothing to prepare.
    /// </summary>
    Task BeginReadAsync(DbContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Ends what <see cref="BeginReadAsync"/> began. Default: nothing to end.</summary>
    Task EndReadAsync(DbContext context) => Task.CompletedTask;

    /// <summary>
    /// Reads up to <paramref name="batchSize"/> events that follow <paramref name="after"/> in commit order into
    /// <paramref name="page"/> (empty when called), straight from the columns (no entity per row).
    /// </summary>
    Task ReadAllPageAsync(
        DbContext context, EventStoreModel model, GlobalCheckpoint after, int batchSize, ReadAllPage page, CancellationToken cancellationToken);
}

/// <summary>A stored event row with the transaction id that committed it (0 where the backend has none).</summary>
internal readonly record struct EventRow(StoredEvent Event, ulong TransactionId)
{
    public GlobalCheckpoint Checkpoint => new(TransactionId, Event.GlobalPosition);
}

/// <summary>Current stream versions (0: no events) and where event ids are stored.</summary>
internal sealed record StoreState(Dictionary<StreamId, long> Versions, Dictionary<Guid, StoredLocation> Locations);
