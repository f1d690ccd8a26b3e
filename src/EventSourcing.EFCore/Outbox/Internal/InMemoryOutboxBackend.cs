using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// The outbox backend for EF InMemory, which has neither row locks nor bulk updates: one process-wide lock around
/// claim, publish and mark gives the same observable behaviour as PostgreSQL's <c>FOR UPDATE SKIP LOCKED</c> (no row is
/// published by two dispatchers at once, per-stream order holds). Rows are changed through the context's change
/// tracker, saved, and detached again.
/// </summary>
internal sealed class InMemoryOutboxBackend : IOutboxBackend
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public async Task<OutboxBatchResult> DispatchBatchAsync(
        DbContext context, OutboxSettings settings, OutboxPublishing publishing, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        List<StoredOutboxMessage> pending = [];
        try
        {
            pending = await Pending(context).OrderBy(o => o.Id).ToListAsync(cancellationToken).ConfigureAwait(false);
            var waiting = settings.PreserveStreamOrder ? OutboxPublishing.LowestVersions(pending.Where(o => o.NextAttemptAt > now)) : [];
            var claimed = pending
                .Where(o => o.NextAttemptAt <= now
                            && !(waiting.TryGetValue(new StreamId(o.StreamType, o.StreamId), out var first) && first < o.StreamVersion))
                .Take(settings.BatchSize)
                .ToList();
            if (claimed.Count == 0)
            {
                return OutboxBatchResult.Empty;
            }

            var claimedIds = claimed.Select(o => o.Id).ToHashSet();
            var blockers = settings.PreserveStreamOrder ? OutboxPublishing.LowestVersions(pending.Where(o => !claimedIds.Contains(o.Id))) : [];
            var eventIds = claimed.Select(o => o.EventId).Distinct().ToArray();
            var positions = await context.Set<StoredEvent>()
                .AsNoTracking()
                .Where(e => eventIds.Contains(e.EventId))
                .Select(e => new { e.EventId, e.GlobalPosition })
                .ToDictionaryAsync(e => e.EventId, e => e.GlobalPosition, cancellationToken)
                .ConfigureAwait(false);
            var candidates = claimed
                .Select(o => new OutboxCandidate(
                    o.Id, o.EventId, o.Destination, o.EventType, new StreamId(o.StreamType, o.StreamId), o.StreamVersion, o.Payload, o.Headers, o.Attempts,
                    positions.TryGetValue(o.EventId, out var position) ? position : null))
                .ToList();

            var result = await publishing.PublishAsync(candidates, blockers, cancellationToken).ConfigureAwait(false);
            var byId = claimed.ToDictionary(o => o.Id);
            foreach (var outcome in result.Outcomes)
            {
                Apply(byId[outcome.Id], outcome);
            }

            if (result.Outcomes.Count > 0)
            {
                // Record what was published even when the caller is cancelling: it must not be published again.
                await context.SaveChangesAsync(CancellationToken.None).ConfigureAwait(false);
            }

            return result;
        }
        finally
        {
            Detach(context, pending);
            Gate.Release();
        }
    }

    public async Task<int> RequeueAsync(DbContext context, Guid messageId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        List<StoredOutboxMessage> rows = [];
        try
        {
            rows = await context.Set<StoredOutboxMessage>()
                .Where(o => o.EventId == messageId && o.DeadLetteredAt != null)
                .ToListAsync(cancellationToken)
                .ConfigureAwait(false);
            foreach (var row in rows)
            {
                row.DeadLetteredAt = null;
                row.Attempts = 0;
                row.NextAttemptAt = now;
            }

            if (rows.Count > 0)
            {
                await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            }

            return rows.Count;
        }
        finally
        {
            Detach(context, rows);
            Gate.Release();
        }
    }

    public async Task<int> DeleteDispatchedAsync(DbContext context, DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        List<StoredOutboxMessage> rows = [];
        try
        {
            rows = await context.Set<StoredOutboxMessage>()
                .Where(o => o.DispatchedAt != null && o.DispatchedAt < olderThan)
                .ToListAsync(cancellationToken)
                .ConfigureAwait(false);
            if (rows.Count > 0)
            {
                context.Set<StoredOutboxMessage>().RemoveRange(rows);
                await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            }

            return rows.Count;
        }
        finally
        {
            Detach(context, rows);
            Gate.Release();
        }
    }

    private static IQueryable<StoredOutboxMessage> Pending(DbContext context)
        => context.Set<StoredOutboxMessage>().Where(o => o.DispatchedAt == null && o.DeadLetteredAt == null);

    internal static void Apply(StoredOutboxMessage row, OutboxOutcome outcome)
    {
        row.Attempts = outcome.Attempts;
        if (outcome.Published)
        {
            row.DispatchedAt = outcome.At;
            return;
        }

        row.LastError = outcome.Error;
        if (outcome.DeadLettered)
        {
            row.DeadLetteredAt = outcome.At;
        }
        else
        {
            row.NextAttemptAt = outcome.NextAttemptAt!.Value;
        }
    }

    private static void Detach(DbContext context, List<StoredOutboxMessage> rows)
    {
        foreach (var row in rows)
        {
            context.Entry(row).State = EntityState.Detached;
        }
    }
}
