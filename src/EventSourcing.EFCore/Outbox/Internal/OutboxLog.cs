using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>The outbox's log messages (event ids 470030–470039 and 470070–470089).</summary>
internal static partial class OutboxLog
{
    public static void OutboxPublishFailed(
        this ILogger logger, OutboxCandidate message, int attempt, DateTimeOffset nextAttemptAt, Exception exception)
        => OutboxPublishFailed(logger, message.EventId, message.Destination, attempt, nextAttemptAt, exception);

    public static void OutboxDeadLettered(this ILogger logger, OutboxCandidate message, int attempts, Exception exception)
        => OutboxDeadLettered(logger, message.EventId, message.Destination, attempts, exception);

    [LoggerMessage(EventId = 470030, EventName = "EventSourcing.OutboxPublishFailed", Level = LogLevel.Warning,
        Message = "Publishing outbox message {MessageId} to {Destination} failed (attempt {Attempt}); next attempt at {NextAttemptAt:O}.")]
    private static partial void OutboxPublishFailed(ILogger logger, Guid messageId, string destination, int attempt, DateTimeOffset nextAttemptAt, Exception exception);

    [LoggerMessage(EventId = 470031, EventName = "EventSourcing.OutboxDeadLettered", Level = LogLevel.Error,
        Message = "Outbox message {MessageId} to {Destination} is a dead letter after {Attempts} failed attempts; requeue it with db.Outbox().RequeueAsync.")]
    private static partial void OutboxDeadLettered(ILogger logger, Guid messageId, string destination, int attempts, Exception exception);

    [LoggerMessage(EventId = 470032, EventName = "EventSourcing.OutboxBatchDispatched", Level = LogLevel.Debug,
        Message = "Outbox batch: {Published} published, {Failed} failed, of {Claimed} claimed.")]
    public static partial void OutboxBatchDispatched(this ILogger logger, int published, int failed, int claimed);

    [LoggerMessage(EventId = 470033, EventName = "EventSourcing.OutboxStats", Level = LogLevel.Information,
        Message = "Outbox: {Pending} pending ({Retrying} retrying), oldest pending {OldestPendingAge}, {DeadLetters} dead letters.")]
    public static partial void OutboxStats(ILogger logger, long pending, long retrying, TimeSpan? oldestPendingAge, long deadLetters);

    [LoggerMessage(EventId = 470034, EventName = "EventSourcing.OutboxDispatcherFailed", Level = LogLevel.Error,
        Message = "The outbox dispatcher for {ContextType} failed; it retries after its polling interval.")]
    public static partial void OutboxDispatcherFailed(ILogger logger, string contextType, Exception exception);

    [LoggerMessage(EventId = 470035, EventName = "EventSourcing.OutboxRequeued", Level = LogLevel.Information,
        Message = "Requeued {Rows} dead-lettered outbox row(s) of message {MessageId}.")]
    public static partial void OutboxRequeued(this ILogger logger, Guid messageId, int rows);

    [LoggerMessage(EventId = 470036, EventName = "EventSourcing.OutboxDispatchedDeleted", Level = LogLevel.Debug,
        Message = "Deleted {Rows} outbox message(s) dispatched before {OlderThan:O}.")]
    public static partial void OutboxDispatchedDeleted(this ILogger logger, int rows, DateTimeOffset olderThan);

    [LoggerMessage(EventId = 470070, EventName = "EventSourcing.OutboxLeaseLost", Level = LogLevel.Warning,
        Message = "The lease on outbox message {MessageId} to {Destination} (attempt {Attempt}) expired and another dispatcher claimed it before this one recorded its outcome (published: {Published}); the other dispatcher's outcome stands, so the message may be published more than once.")]
    public static partial void OutboxLeaseLost(this ILogger logger, Guid messageId, string destination, int attempt, bool published);

    [LoggerMessage(EventId = 470071, EventName = "EventSourcing.OutboxLeaseExpiredDeadLettered", Level = LogLevel.Error,
        Message = "Outbox message {MessageId} to {Destination} is a dead letter: the lease of its last attempt ({Attempts}) expired unrecorded (the dispatcher crashed or hung); requeue it with db.Outbox().RequeueAsync.")]
    public static partial void OutboxLeaseExpiredDeadLettered(this ILogger logger, Guid messageId, string destination, int attempts);

    [LoggerMessage(EventId = 470072, EventName = "EventSourcing.OutboxLeaseTooShort", Level = LogLevel.Warning,
        Message = "An outbox dispatcher claimed messages but its lease ({Lease}) could not cover a single publish (publish timeout {PublishTimeout}); it gave them back. Lengthen the lease with UseOutbox(o => o.LeaseFor(...)).")]
    public static partial void OutboxLeaseTooShort(this ILogger logger, TimeSpan lease, TimeSpan publishTimeout);

    [LoggerMessage(EventId = 470073, EventName = "EventSourcing.OutboxDeadLettersRequeued", Level = LogLevel.Information,
        Message = "Requeued {Rows} dead-lettered outbox row(s) (destination {Destination}, error containing {ErrorContains}).")]
    public static partial void OutboxDeadLettersRequeued(this ILogger logger, int rows, string? destination, string? errorContains);

    [LoggerMessage(EventId = 470074, EventName = "EventSourcing.OutboxDeadLettersPurged", Level = LogLevel.Warning,
        Message = "Purged {Rows} dead-lettered outbox row(s) (destination {Destination}, error containing {ErrorContains}).")]
    public static partial void OutboxDeadLettersPurged(this ILogger logger, int rows, string? destination, string? errorContains);
}
