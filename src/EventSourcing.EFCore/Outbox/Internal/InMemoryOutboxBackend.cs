using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// The outbox backend for EF InMemory, which has neither row locks, bulk updates nor a clock of its own: one
/// process-wide lock around each claim and each recording of outcomes plays the part of PostgreSQL's short claim
/// transaction (publishing happens outside it, as on PostgreSQL), and the configured time provider is the clock. Rows
/// are changed through the context's change tracker, saved, and detached again.
/// </summary>
internal sealed class InMemoryOutboxBackend : IOutboxBackend
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public Task<DateTimeOffset> GetNowAsync(DbContext context, TimeProvider clock, CancellationToken cancellationToken)
        => Task.FromResult(clock.GetUtcNow());

    public async Task<OutboxClaim> ClaimAsync(DbContext context, OutboxSettings settings, TimeProvider clock, string owner, CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        List<StoredOutboxMessage> pending = [];
        try
        {
            var now = clock.GetUtcNow();
            pending = await context.Set<StoredOutboxMessage>()
                .Where(o => o.DispatchedAt == null && o.DeadLetteredAt == null)
                .ToListAsync(cancellationToken)
                .ConfigureAwait(false);
            bool Due(StoredOutboxMessage o) => (o.Attempts == 0 && o.LeaseOwner == null) || o.NextAttemptAt <= now;
            var chosen = settings.PreserveStreamOrder
                ? StreamRuns(pending, Due, settings.BatchSize)
                : pending.Where(Due).OrderBy(o => o.Id).Take(settings.BatchSize).Select(o => (Row: o, Charged: true)).ToList();
            if (chosen.Count == 0)
            {
                return OutboxClaim.None(owner);
            }

            var leaseExpiresAt = now + settings.LeaseDuration;
            var expired = new List<OutboxExpiredMessage>();
            var leased = new List<(StoredOutboxMessage Row, bool Charged)>();
            foreach (var (row, charged) in chosen)
            {
                if (row.Attempts >= settings.MaxAttempts)
                {
                    row.DeadLetteredAt = now;
                    row.LastError = LeaseExpiredError(row.Attempts);
                    row.LeaseOwner = null;
                    row.LeaseExpiresAt = null;
                    expired.Add(new OutboxExpiredMessage(row.Id, row.EventId, row.Destination, row.Attempts));
                    continue;
                }

                // Only a stream head's rows are charged at claim; the rest of a run is charged when its outcome is recorded.
                row.Attempts += charged ? 1 : 0;
                row.LeaseOwner = owner;
                row.LeaseExpiresAt = leaseExpiresAt;
                row.NextAttemptAt = charged ? leaseExpiresAt + settings.BackoffAfter(row.Attempts) : leaseExpiresAt;
                leased.Add((row, charged));
            }

            await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);

            var eventIds = leased.Select(o => o.Row.EventId).Distinct().ToArray();
            var positions = await context.Set<StoredEvent>()
                .AsNoTracking()
                .Where(e => eventIds.Contains(e.EventId))
                .Select(e => new { e.EventId, e.GlobalPosition })
                .ToDictionaryAsync(e => e.EventId, e => e.GlobalPosition, cancellationToken)
                .ConfigureAwait(false);
            var candidates = leased
                .Select(l => (o: l.Row, l.Charged))
                .Select(l => new OutboxCandidate(
                    l.o.Id, l.o.EventId, l.o.Destination, l.o.EventType, new StreamId(l.o.StreamType, l.o.StreamId), l.o.StreamVersion, l.o.Payload, l.o.Headers,
                    l.Charged ? l.o.Attempts : l.o.Attempts + 1, positions.TryGetValue(l.o.EventId, out var position) ? position : null, l.Charged))
                .ToList();
            return new OutboxClaim(owner, now, leaseExpiresAt, candidates, expired);
        }
        finally
        {
            Detach(context, pending);
            Gate.Release();
        }
    }

    public async Task<IReadOnlyList<OutboxMark>> CompleteAsync(
        DbContext context, OutboxSettings settings, TimeProvider clock, string owner, IReadOnlyList<OutboxOutcome> outcomes, CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        List<StoredOutboxMessage> rows = [];
        try
        {
            var ids = outcomes.Select(o => o.Message.Id).ToArray();
            rows = await context.Set<StoredOutboxMessage>()
                .Where(o => ids.Contains(o.Id) && o.LeaseOwner == owner && o.DispatchedAt == null && o.DeadLetteredAt == null)
                .ToListAsync(cancellationToken)
                .ConfigureAwait(false);
            var byId = rows.ToDictionary(r => r.Id);
            var now = clock.GetUtcNow();
            var marks = new List<OutboxMark>(outcomes.Count);
            foreach (var outcome in outcomes)
            {
                if (!byId.TryGetValue(outcome.Message.Id, out var row))
                {
                    marks.Add(new OutboxMark(outcome.Message.Id, OutboxRowState.LeaseLost, null));
                    continue;
                }

                row.LeaseOwner = null;
                row.LeaseExpiresAt = null;
                var charged = outcome.Message.Charged;
                switch (outcome.Kind)
                {
                    case OutboxOutcomeKind.Published:
                        row.Attempts += charged ? 0 : 1;
                        row.DispatchedAt = now;
                        marks.Add(new OutboxMark(row.Id, OutboxRowState.Dispatched, null));
                        break;
                    case OutboxOutcomeKind.Released:
                        row.Attempts -= charged ? 1 : 0;
                        row.NextAttemptAt = now;
                        marks.Add(new OutboxMark(row.Id, OutboxRowState.Released, null));
                        break;
                    default:
                        row.Attempts += charged ? 0 : 1;
                        row.LastError = outcome.Error;
                        if (row.Attempts >= settings.MaxAttempts)
                        {
                            row.DeadLetteredAt = now;
                            marks.Add(new OutboxMark(row.Id, OutboxRowState.DeadLettered, null));
                        }
                        else
                        {
                            row.NextAttemptAt = now + settings.BackoffAfter(row.Attempts);
                            marks.Add(new OutboxMark(row.Id, OutboxRowState.Retrying, row.NextAttemptAt));
                        }

                        break;
                }
            }

            if (rows.Count > 0)
            {
                await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            }

            return marks;
        }
        finally
        {
            Detach(context, rows);
            Gate.Release();
        }
    }

    public async Task<int> RequeueAsync(DbContext context, IQueryable<StoredOutboxMessage> deadLetters, CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        List<StoredOutboxMessage> rows = [];
        try
        {
            rows = await deadLetters.ToListAsync(cancellationToken).ConfigureAwait(false);
            foreach (var row in rows)
            {
                row.DeadLetteredAt = null;
                row.Attempts = 0;
                row.LeaseOwner = null;
                row.LeaseExpiresAt = null;
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

    public Task<int> PurgeAsync(DbContext context, IQueryable<StoredOutboxMessage> deadLetters, CancellationToken cancellationToken)
        => DeleteAsync(context, deadLetters, cancellationToken);

    public Task<int> DeleteDispatchedAsync(DbContext context, DateTimeOffset olderThan, CancellationToken cancellationToken)
        => DeleteAsync(context, context.Set<StoredOutboxMessage>().Where(o => o.DispatchedAt != null && o.DispatchedAt < olderThan), cancellationToken);

    /// <summary>The error recorded when a row's last attempt's lease expired unrecorded (shared with the other backends).</summary>
    internal static string LeaseExpiredError(int attempts)
        => $"The lease of attempt {attempts} expired before its outcome was recorded (the dispatcher crashed, was killed or hung).";

    /// <summary>
    /// Ordered mode: the streams whose head (lowest pending version) is due, oldest head first, and each one's run: its
    /// pending rows in version order from the head on, each taken when it is due and every row of a lower version of its
    /// stream is taken too, up to <paramref name="limit"/> rows in all; a head whose lease expired unrecorded brings only
    /// the rows of its version. The rows of the head's version are charged an attempt at claim. As on PostgreSQL (which
    /// visits the streams in key order from where its previous claim stopped: cross-stream order is not promised).
    /// </summary>
    private static List<(StoredOutboxMessage Row, bool Charged)> StreamRuns(List<StoredOutboxMessage> pending, Func<StoredOutboxMessage, bool> due, int limit)
    {
        var chosen = new List<(StoredOutboxMessage, bool)>(limit);
        var streams = pending
            .GroupBy(o => (o.StreamType, o.StreamId))
            .Select(g => g.OrderBy(o => o.StreamVersion).ThenBy(o => o.Id).ToList())
            .Where(rows => due(rows[0]))
            .OrderBy(rows => rows[0].Id);
        foreach (var rows in streams)
        {
            var head = rows[0];
            long? stopAbove = head.LeaseOwner is null ? null : head.StreamVersion;
            foreach (var row in rows)
            {
                if (chosen.Count == limit)
                {
                    return chosen;
                }

                // Rows of one version (one per destination) are not ordered among themselves.
                if (row.StreamVersion > stopAbove)
                {
                    break;
                }

                if (due(row))
                {
                    chosen.Add((row, row.StreamVersion == head.StreamVersion));
                }
                else
                {
                    stopAbove = Math.Min(stopAbove ?? long.MaxValue, row.StreamVersion);
                }
            }
        }

        return chosen;
    }

    private static async Task<int> DeleteAsync(DbContext context, IQueryable<StoredOutboxMessage> query, CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        List<StoredOutboxMessage> rows = [];
        try
        {
            rows = await query.ToListAsync(cancellationToken).ConfigureAwait(false);
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

    private static void Detach(DbContext context, List<StoredOutboxMessage> rows)
    {
        foreach (var row in rows)
        {
            context.Entry(row).State = EntityState.Detached;
        }
    }
}
