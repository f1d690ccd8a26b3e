namespace EventSourcing.EFCore;

/// <summary>
/// The open transaction that holds read-all back (PostgreSQL): events committed after it started are not returned, to
/// any reader of any catch-up projection or of the outbox, until it ends. Reported by <see cref="ProjectionLag.HeldBackBy"/>
/// and logged (<see cref="EventSourcingEventId.ReadHorizonHeldBack"/>) when it has been open for
/// <see cref="ProjectionHostOptions.ReadHorizonStallThreshold"/> (default 30 s) or more.
/// </summary>
/// <param name="TransactionId">The holding transaction's id (the read-all horizon).</param>
/// <param name="ProcessId">The backend process id (<c>pg_stat_activity.pid</c>), or <see langword="null"/> for a prepared transaction.</param>
/// <param name="Database">The database the transaction runs in (any database of the cluster holds read-all back).</param>
/// <param name="ApplicationName">The session's <c>application_name</c>, or the prepared transaction's global id.</param>
/// <param name="State">The session's state (<c>active</c>, <c>idle in transaction</c> …), or <c>prepared</c>.</param>
/// <param name="TransactionAge">How long the transaction has been open.</param>
public sealed record ReadHorizonHolder(
    ulong TransactionId,
    int? ProcessId,
    string? Database,
    string? ApplicationName,
    string? State,
    TimeSpan TransactionAge);
