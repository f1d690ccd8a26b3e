using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.Diagnostics.Internal;

/// <summary>
/// The library's log messages (but the outbox's, in <c>OutboxLog</c>), written under the categories of
/// <see cref="EventSourcingLoggerCategory"/>; every id is a constant of <see cref="EventSourcingEventId"/> and a row of
/// docs/observability.md (a unit test keeps the three in step).
/// </summary>
internal static partial class Log
{
    public static void AppendConflict(this ILogger logger, Exception conflict)
        => AppendConflict(logger, conflict.GetType().Name, conflict.Message);

    [LoggerMessage(EventId = 470001, EventName = "EventSourcing.EventsAppended", Level = LogLevel.Debug,
        Message = "Appended events {FirstVersion}..{LastVersion} to stream {StreamId}.")]
    public static partial void EventsAppended(this ILogger logger, StreamId streamId, long firstVersion, long lastVersion);

    [LoggerMessage(EventId = 470002, EventName = "EventSourcing.AppendConflict", Level = LogLevel.Information,
        Message = "Append rejected with {ExceptionType}: {Reason}")]
    private static partial void AppendConflict(ILogger logger, string exceptionType, string reason);

    [LoggerMessage(EventId = 470010, EventName = "EventSourcing.SnapshotTaken", Level = LogLevel.Debug,
        Message = "Took a snapshot of stream {StreamId} at version {Version}.")]
    public static partial void SnapshotTaken(this ILogger logger, StreamId streamId, long version);

    [LoggerMessage(EventId = 470011, EventName = "EventSourcing.SnapshotIgnored", Level = LogLevel.Warning,
        Message = "Ignored the snapshot of stream {StreamId} at version {Version}: {Reason} The aggregate was rebuilt from its events; its next save writes a new snapshot.")]
    public static partial void SnapshotIgnored(this ILogger logger, StreamId streamId, long version, string reason);

    [LoggerMessage(EventId = 470012, EventName = "EventSourcing.SnapshotPruneFailed", Level = LogLevel.Warning,
        Message = "Could not delete the superseded snapshots of stream {StreamId}; a later snapshot of the stream deletes them.")]
    public static partial void SnapshotPruneFailed(this ILogger logger, StreamId streamId, Exception exception);

    [LoggerMessage(EventId = 470020, EventName = "EventSourcing.ProjectionBatchApplied", Level = LogLevel.Debug,
        Message = "Projection {Projection} applied {Count} events; its checkpoint is now {Checkpoint}.")]
    public static partial void ProjectionBatchApplied(this ILogger logger, string projection, int count, GlobalCheckpoint checkpoint);

    [LoggerMessage(EventId = 470021, EventName = "EventSourcing.ProjectionFailed", Level = LogLevel.Error,
        Message = "Projection {Projection} failed and did not advance; retrying in {RetryInterval}.")]
    public static partial void ProjectionFailed(ILogger logger, Exception exception, string projection, TimeSpan retryInterval);

    [LoggerMessage(EventId = 470022, EventName = "EventSourcing.ProjectionRaceLost", Level = LogLevel.Information,
        Message = "Another runner of projection {Projection} moved its checkpoint from {Checkpoint} first; the batch was discarded and is read again.")]
    public static partial void ProjectionRaceLost(this ILogger logger, string projection, GlobalCheckpoint checkpoint);

    [LoggerMessage(EventId = 470023, EventName = "EventSourcing.ProjectionReset", Level = LogLevel.Information,
        Message = "Projection {Projection} was reset for a rebuild: read model cleared, checkpoint at the start.")]
    public static partial void ProjectionReset(this ILogger logger, string projection);

    [LoggerMessage(EventId = 470024, EventName = "EventSourcing.ProjectionHostStarted", Level = LogLevel.Information,
        Message = "Running catch-up projections {Projections} of {Context}.")]
    public static partial void ProjectionHostStarted(ILogger logger, string projections, string context);

    [LoggerMessage(EventId = 470055, EventName = "EventSourcing.ObsoleteEventRead", Level = LogLevel.Debug,
        Message = "Event {StreamId}@{Version} has type {EventType} (version {EventTypeVersion}), declared obsolete: aggregates, projections and live folds skip it; read stream and read-all return it as an ObsoleteEvent.")]
    public static partial void ObsoleteEventRead(this ILogger logger, StreamId streamId, long version, string eventType, int eventTypeVersion);

    [LoggerMessage(EventId = 470040, EventName = "EventSourcing.EventsImported", Level = LogLevel.Information,
        Message = "Imported {EventCount} events in {StreamCount} new streams.")]
    public static partial void EventsImported(this ILogger logger, int streamCount, long eventCount);

    [LoggerMessage(EventId = 470041, EventName = "EventSourcing.ImportSkippedWritePath", Level = LogLevel.Warning,
        Message = "Imported {EventCount} events without the save features that apply to them (first: {Feature}), as asked with ImportWritePathFeatures.Skip.")]
    public static partial void ImportSkippedWritePath(this ILogger logger, long eventCount, string feature);

    [LoggerMessage(EventId = 470050, EventName = "EventSourcing.ProjectionEventDeadLettered", Level = LogLevel.Warning,
        Message = "Projection {Projection} skipped event {StreamId}@{Version} (type '{EventType}', position {GlobalPosition}) and recorded it as a dead letter.")]
    public static partial void ProjectionEventDeadLettered(
        this ILogger logger, Exception exception, string projection, StreamId streamId, long version, string eventType, long globalPosition);

    [LoggerMessage(EventId = 470051, EventName = "EventSourcing.ProjectionDeadLettersReplayed", Level = LogLevel.Information,
        Message = "Projection {Projection} replayed its dead letters: {Applied} applied and removed, {Failed} failed again.")]
    public static partial void ProjectionDeadLettersReplayed(this ILogger logger, string projection, int applied, int failed);

    [LoggerMessage(EventId = 470052, EventName = "EventSourcing.SnapshotRefused", Level = LogLevel.Warning,
        Message = "Did not store the snapshot of stream {StreamId} at version {Version}: the {AggregateType} state does not read back the same ({Difference}). "
                  + "Snapshots of {AggregateType} that do not round-trip are refused (logged once per type); loads replay the events, and the aggregate's saves are not affected.")]
    public static partial void SnapshotRefused(this ILogger logger, StreamId streamId, long version, string aggregateType, string difference);

    [LoggerMessage(EventId = 470054, EventName = "EventSourcing.ProjectionCheckpointRebased", Level = LogLevel.Information,
        Message = "Projection {Projection} was rebased: its checkpoint is now {Checkpoint}.")]
    public static partial void ProjectionCheckpointRebased(this ILogger logger, string projection, GlobalCheckpoint checkpoint);

    [LoggerMessage(EventId = 470053, EventName = "EventSourcing.ReadHorizonHeldBack", Level = LogLevel.Warning,
        Message = "Projection {Projection} is held back: committed events wait behind transaction {TransactionId} (pid {ProcessId}, database {Database}, application {ApplicationName}, state {State}), open for {TransactionAge}. Read-all returns nothing committed after it until it ends.")]
    public static partial void ReadHorizonHeldBack(this ILogger logger, string projection, ulong transactionId, int? processId, string? database, string? applicationName, string? state, TimeSpan transactionAge);
}
