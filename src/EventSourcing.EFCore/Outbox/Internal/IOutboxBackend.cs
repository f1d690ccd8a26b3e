using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// What differs between database backends for the outbox: the clock (due times, leases and retention are on the
/// database's clock), how a dispatcher leases due rows in a short committed transaction so that no other dispatcher
/// publishes them while the lease holds, how outcomes are recorded, and bulk updates and deletes.
/// </summary>
internal interface IOutboxBackend
{
    /// <summary>Returns the database's current time (<paramref name="clock"/> on a backend without a clock of its own).</summary>
    Task<DateTimeOffset> GetNowAsync(DbContext context, TimeProvider clock, CancellationToken cancellationToken);

    /// <summary>
    /// In one short transaction, dead-letters due rows whose last attempt's lease expired unrecorded, and leases up to a
    /// batch of committed, due rows to <paramref name="owner"/>: attempt + 1, lease expiry, and the due time of the next
    /// attempt should this one never be recorded (lease expiry plus backoff). In ordered mode only stream runs are leased: a
    /// stream's head and the rows right behind it, each row only with every lower version of its stream in the same claim.
    /// </summary>
    Task<OutboxClaim> ClaimAsync(DbContext context, OutboxSettings settings, TimeProvider clock, string owner, CancellationToken cancellationToken);

    /// <summary>Records <paramref name="outcomes"/> for the rows still leased to <paramref name="owner"/> and ends their lease.</summary>
    Task<IReadOnlyList<OutboxMark>> CompleteAsync(
        DbContext context, OutboxSettings settings, TimeProvider clock, string owner, IReadOnlyList<OutboxOutcome> outcomes, CancellationToken cancellationToken);

    /// <summary>Puts the dead letters <paramref name="deadLetters"/> selects back to pending with fresh attempts; returns how many.</summary>
    Task<int> RequeueAsync(DbContext context, IQueryable<StoredOutboxMessage> deadLetters, CancellationToken cancellationToken);

    /// <summary>Deletes the dead letters <paramref name="deadLetters"/> selects; returns how many.</summary>
    Task<int> PurgeAsync(DbContext context, IQueryable<StoredOutboxMessage> deadLetters, CancellationToken cancellationToken);

    /// <summary>Deletes rows dispatched before <paramref name="olderThan"/>; returns how many.</summary>
    Task<int> DeleteDispatchedAsync(DbContext context, DateTimeOffset olderThan, CancellationToken cancellationToken);
}
