using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// What differs between database backends for the outbox: how a dispatcher claims due rows so that no other
/// dispatcher publishes them at the same time, and how rows are updated and deleted in bulk.
/// </summary>
internal interface IOutboxBackend
{
    /// <summary>
    /// Claims up to a batch of committed, due rows, has <paramref name="publishing"/> publish them, records every outcome
    /// and commits; the rows stay claimed until then.
    /// </summary>
    Task<OutboxBatchResult> DispatchBatchAsync(
        DbContext context, OutboxSettings settings, OutboxPublishing publishing, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Puts the dead-lettered rows of <paramref name="messageId"/> back to pending, due now; returns how many.</summary>
    Task<int> RequeueAsync(DbContext context, Guid messageId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes rows dispatched before <paramref name="olderThan"/>; returns how many.</summary>
    Task<int> DeleteDispatchedAsync(DbContext context, DateTimeOffset olderThan, CancellationToken cancellationToken);
}
