using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore;

/// <summary>
/// Event ids of the log messages EventSourcing.EFCore writes through the logger factory EF Core uses (the application's
/// <c>ILoggerFactory</c> with <c>AddDbContext</c>, or <c>UseLoggerFactory</c>; EF's <c>LogTo</c> does not see them), under the categories of
/// <see cref="EventSourcingLoggerCategory"/> (all below <c>EventSourcing.EFCore</c>). Ids are stable: new ones
/// are appended, none is renumbered. They start at 470000, outside EF Core's own ranges.
/// </summary>
public static class EventSourcingEventId
{
    private const int BaseId = 470000;

    /// <summary>Events were appended to a stream (Debug).</summary>
    public static readonly EventId EventsAppended = new(BaseId + 1, "EventSourcing.EventsAppended");

    /// <summary>An append was rejected by a conflict: version, event id or replay (Information).</summary>
    public static readonly EventId AppendConflict = new(BaseId + 2, "EventSourcing.AppendConflict");

    /// <summary>A snapshot of an aggregate was written (Debug).</summary>
    public static readonly EventId SnapshotTaken = new(BaseId + 10, "EventSourcing.SnapshotTaken");

    /// <summary>
    /// A stored snapshot was ignored because its schema version or shape fingerprint no longer matches the aggregate type,
    /// or it could not be deserialized; the aggregate was rebuilt from its events (Warning).
    /// </summary>
    public static readonly EventId SnapshotIgnored = new(BaseId + 11, "EventSourcing.SnapshotIgnored");

    /// <summary>Deleting the snapshots a new snapshot superseded failed; the save itself succeeded (Warning).</summary>
    public static readonly EventId SnapshotPruneFailed = new(BaseId + 12, "EventSourcing.SnapshotPruneFailed");

    /// <summary>A catch-up projection committed a batch of events and its new checkpoint (Debug).</summary>
    public static readonly EventId ProjectionBatchApplied = new(BaseId + 20, "EventSourcing.ProjectionBatchApplied");

    /// <summary>A catch-up projection failed in the hosted service; it is retried later (Error).</summary>
    public static readonly EventId ProjectionFailed = new(BaseId + 21, "EventSourcing.ProjectionFailed");

    /// <summary>Another runner of the same projection committed first; the batch was discarded and is read again (Information).</summary>
    public static readonly EventId ProjectionRaceLost = new(BaseId + 22, "EventSourcing.ProjectionRaceLost");

    /// <summary>A projection's read model and checkpoint were reset for a rebuild (Information).</summary>
    public static readonly EventId ProjectionReset = new(BaseId + 23, "EventSourcing.ProjectionReset");

    /// <summary>The projection hosted service started its projections (Information).</summary>
    public static readonly EventId ProjectionHostStarted = new(BaseId + 24, "EventSourcing.ProjectionHostStarted");

    /// <summary>Publishing an outbox message failed; it will be retried (Warning).</summary>
    public static readonly EventId OutboxPublishFailed = new(BaseId + 30, "EventSourcing.OutboxPublishFailed");

    /// <summary>An outbox message exhausted its attempts and became a dead letter (Error).</summary>
    public static readonly EventId OutboxDeadLettered = new(BaseId + 31, "EventSourcing.OutboxDeadLettered");

    /// <summary>An outbox batch was dispatched (Debug).</summary>
    public static readonly EventId OutboxBatchDispatched = new(BaseId + 32, "EventSourcing.OutboxBatchDispatched");

    /// <summary>The hosted outbox dispatcher's periodic stats: pending, oldest pending age, dead letters (Information).</summary>
    public static readonly EventId OutboxStats = new(BaseId + 33, "EventSourcing.OutboxStats");

    /// <summary>A round of the hosted outbox dispatcher failed; it retries after its polling interval (Error).</summary>
    public static readonly EventId OutboxDispatcherFailed = new(BaseId + 34, "EventSourcing.OutboxDispatcherFailed");

    /// <summary>Dead-lettered outbox messages were requeued (Information).</summary>
    public static readonly EventId OutboxRequeued = new(BaseId + 35, "EventSourcing.OutboxRequeued");

    /// <summary>Dispatched outbox messages older than the retention were deleted (Debug).</summary>
    public static readonly EventId OutboxDispatchedDeleted = new(BaseId + 36, "EventSourcing.OutboxDispatchedDeleted");

    /// <summary>Whole streams were imported with binary COPY (Information).</summary>
    public static readonly EventId EventsImported = new(BaseId + 40, "EventSourcing.EventsImported");

    /// <summary>
    /// A stored event of a type declared obsolete was read: aggregates, projections and live folds skip it, read stream
    /// and read-all return it as an <see cref="ObsoleteEvent"/> (Debug).
    /// </summary>
    public static readonly EventId ObsoleteEventRead = new(BaseId + 55, "EventSourcing.ObsoleteEventRead");

    /// <summary>
    /// An import asked to skip the save features (outbox routes, inline projections, snapshot policies) wrote events
    /// that one of them applies to (Warning).
    /// </summary>
    public static readonly EventId ImportSkippedWritePath = new(BaseId + 41, "EventSourcing.ImportSkippedWritePath");

    /// <summary>A catch-up projection with <see cref="ProjectionErrorPolicy.DeadLetter"/> skipped an event and recorded it (Warning).</summary>
    public static readonly EventId ProjectionEventDeadLettered = new(BaseId + 50, "EventSourcing.ProjectionEventDeadLettered");

    /// <summary>A projection's dead-lettered events were applied again (Information).</summary>
    public static readonly EventId ProjectionDeadLettersReplayed = new(BaseId + 51, "EventSourcing.ProjectionDeadLettersReplayed");

    /// <summary>
    /// A snapshot was not stored because its state does not read back the same (Warning, logged once per aggregate type):
    /// loads of that type replay their events instead.
    /// </summary>
    public static readonly EventId SnapshotRefused = new(BaseId + 52, "EventSourcing.SnapshotRefused");

    /// <summary>A projection's checkpoint was rebased to a global position (Information).</summary>
    public static readonly EventId ProjectionCheckpointRebased = new(BaseId + 54, "EventSourcing.ProjectionCheckpointRebased");

    /// <summary>
    /// Committed events wait behind a transaction open for <see cref="ProjectionHostOptions.ReadHorizonStallThreshold"/>
    /// (default 30 s) or more; the holder is named (Warning).
    /// </summary>
    public static readonly EventId ReadHorizonHeldBack = new(BaseId + 53, "EventSourcing.ReadHorizonHeldBack");

    /// <summary>
    /// The lease on a claimed outbox message expired and another dispatcher claimed it before this one recorded its
    /// outcome; the message may be published more than once (Warning).
    /// </summary>
    public static readonly EventId OutboxLeaseLost = new(BaseId + 70, "EventSourcing.OutboxLeaseLost");

    /// <summary>An outbox message became a dead letter because the lease of its last attempt expired unrecorded (Error).</summary>
    public static readonly EventId OutboxLeaseExpiredDeadLettered = new(BaseId + 71, "EventSourcing.OutboxLeaseExpiredDeadLettered");

    /// <summary>A dispatcher's lease could not cover a single publish; it gave its claimed messages back (Warning).</summary>
    public static readonly EventId OutboxLeaseTooShort = new(BaseId + 72, "EventSourcing.OutboxLeaseTooShort");

    /// <summary>Dead-lettered outbox messages selected by a filter were requeued (Information).</summary>
    public static readonly EventId OutboxDeadLettersRequeued = new(BaseId + 73, "EventSourcing.OutboxDeadLettersRequeued");

    /// <summary>Dead-lettered outbox messages selected by a filter were purged (Warning).</summary>
    public static readonly EventId OutboxDeadLettersPurged = new(BaseId + 74, "EventSourcing.OutboxDeadLettersPurged");
}
