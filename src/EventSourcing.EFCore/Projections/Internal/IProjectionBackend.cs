using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// What differs between database backends for catch-up projections: how the batches of one projection are kept from
/// running at the same time, and how a batch takes hold of the projection's checkpoint row before it changes the read model.
/// </summary>
internal interface IProjectionBackend
{
    /// <summary>
    /// Runs <paramref name="work"/> (one batch or one reset of <paramref name="projection"/>) as one unit: on a database
    /// with transactions, inside the caller's transaction or a new one committed when the work returns; on EF InMemory,
    /// serialised in process with the other units of the projection. The checkpoint row exists when the work starts.
    /// </summary>
    Task<T> RunExclusiveAsync<T>(
        DbContext context, Projection projection, Func<DbContext, CancellationToken, Task<T>> work, CancellationToken cancellationToken);

    /// <summary>
    /// Loads the projection's checkpoint row, tracked, so that the batch can move it; where the database has row locks,
    /// the row stays locked until the unit of <see cref="RunExclusiveAsync{T}"/> ends, so a second runner waits here.
    /// </summary>
    Task<ProjectionCheckpoint> LoadCheckpointForUpdateAsync(DbContext context, string projection, CancellationToken cancellationToken);

    /// <summary>
    /// Reads, in commit order, up to <paramref name="batchSize"/> events after <paramref name="after"/> whose stored type
    /// name is one of <paramref name="eventTypes"/> (selected by the database: rows of other types are never read), and the
    /// checkpoint the projection may move to: the last row read when the page is full, otherwise the last committed event
    /// read-all can return now (of any type), so that events the projection does not handle are passed without reading them.
    /// </summary>
    Task<ProjectionPage> ReadPageAsync(
        DbContext context, EventStoreModel model, GlobalCheckpoint after, IReadOnlyList<string> eventTypes, int batchSize, CancellationToken cancellationToken);

    /// <summary>
    /// Returns the open transaction that keeps committed events after <paramref name="after"/> from read-all, or null when
    /// none does. Default: null (read-all waits for nothing).
    /// </summary>
    Task<ReadHorizonHolder?> FindHorizonHolderAsync(DbContext context, EventStoreModel model, GlobalCheckpoint after, CancellationToken cancellationToken)
        => Task.FromResult<ReadHorizonHolder?>(null);

    /// <summary>
    /// Checks that the stored transaction ids (the checkpoint's and the events') can belong to this database, and throws
    /// <see cref="CheckpointTransactionIdException"/> when one is not below its transaction counter or the checkpoint
    /// was written by another cluster (<paramref name="storedSystemIdentifier"/>). Returns this cluster's system
    /// identifier, to store with the next checkpoint. Default: nothing to check (no transaction ids), null.
    /// </summary>
    Task<long?> VerifyTransactionIdsAsync(
        DbContext context, EventStoreModel model, string projection, GlobalCheckpoint checkpoint, long? storedSystemIdentifier, CancellationToken cancellationToken)
        => Task.FromResult<long?>(null);

    /// <summary>Returns this database cluster's system identifier (stored with a rebased checkpoint). Default: null.</summary>
    Task<long?> ReadSystemIdentifierAsync(DbContext context, CancellationToken cancellationToken) => Task.FromResult<long?>(null);
}

/// <summary>A page of the events a projection handles, and the checkpoint after it (<paramref name="End"/>).</summary>
internal sealed record ProjectionPage(IReadOnlyList<EventRow> Rows, GlobalCheckpoint End, bool Full);
