using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore;

/// <summary>
/// Event ids of the log messages EventSourcing.EFCore writes through EF Core's logging (<c>LogTo</c>,
/// <c>UseLoggerFactory</c>), under the <c>Microsoft.EntityFrameworkCore.Update</c> category. Ids are stable: new ones
/// are appended, none is renumbered. They start at 470000, outside EF Core's own ranges.
/// </summary>
public static class EventSourcingEventId
{
    private const int BaseId = 470000;

    /// <summary>Events were appended to a stream (Debug).</summary>
    public static readonly EventId EventsAppended = new(BaseId + 1, "EventSourcing.EventsAppended");

    /// <summary>An append was rejected by a conflict: version, event id or replay (Information).</summary>
    public static readonly EventId AppendConflict = new(BaseId + 2, "EventSourcing.AppendConflict");

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
}
