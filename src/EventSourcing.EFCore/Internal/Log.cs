using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.Internal;

/// <summary>The library's log messages, written through EF Core's update logger.</summary>
internal static partial class Log
{
    public static void EventsAppended(this IDiagnosticsLogger<DbLoggerCategory.Update> logger, StreamId streamId, long firstVersion, long lastVersion)
        => EventsAppended(logger.Logger, streamId, firstVersion, lastVersion);

    public static void AppendConflict(this IDiagnosticsLogger<DbLoggerCategory.Update> logger, Exception conflict)
        => AppendConflict(logger.Logger, conflict.GetType().Name, conflict.Message);

    [LoggerMessage(EventId = 470001, EventName = "EventSourcing.EventsAppended", Level = LogLevel.Debug,
        Message = "Appended events {FirstVersion}..{LastVersion} to stream {StreamId}.")]
    private static partial void EventsAppended(ILogger logger, StreamId streamId, long firstVersion, long lastVersion);

    [LoggerMessage(EventId = 470002, EventName = "EventSourcing.AppendConflict", Level = LogLevel.Information,
        Message = "Append rejected with {ExceptionType}: {Reason}")]
    private static partial void AppendConflict(ILogger logger, string exceptionType, string reason);

    public static void SnapshotTaken(this IDiagnosticsLogger<DbLoggerCategory.Update> logger, StreamId streamId, long version)
        => SnapshotTaken(logger.Logger, streamId, version);

    public static void SnapshotIgnored(this IDiagnosticsLogger<DbLoggerCategory.Update> logger, StreamId streamId, long version, string reason)
        => SnapshotIgnored(logger.Logger, streamId, version, reason);

    [LoggerMessage(EventId = 470010, EventName = "EventSourcing.SnapshotTaken", Level = LogLevel.Debug,
        Message = "Took a snapshot of stream {StreamId} at version {Version}.")]
    private static partial void SnapshotTaken(ILogger logger, StreamId streamId, long version);

    [LoggerMessage(EventId = 470011, EventName = "EventSourcing.SnapshotIgnored", Level = LogLevel.Warning,
        Message = "Ignored the snapshot of stream {StreamId} at version {Version}: {Reason} The aggregate was rebuilt from its events; its next save writes a new snapshot.")]
    private static partial void SnapshotIgnored(ILogger logger, StreamId streamId, long version, string reason);

    public static void SnapshotPruneFailed(this IDiagnosticsLogger<DbLoggerCategory.Update> logger, StreamId streamId, Exception exception)
        => SnapshotPruneFailed(logger.Logger, streamId, exception);

    [LoggerMessage(EventId = 470012, EventName = "EventSourcing.SnapshotPruneFailed", Level = LogLevel.Warning,
        Message = "Could not delete the superseded snapshots of stream {StreamId}; a later snapshot of the stream deletes them.")]
    private static partial void SnapshotPruneFailed(ILogger logger, StreamId streamId, Exception exception);

    public static void ProjectionBatchApplied(this IDiagnosticsLogger<DbLoggerCategory.Update> logger, string projection, int count, GlobalCheckpoint checkpoint)
        => ProjectionBatchApplied(logger.Logger, projection, count, checkpoint);

    public static void ProjectionRaceLost(this IDiagnosticsLogger<DbLoggerCategory.Update> logger, string projection, GlobalCheckpoint checkpoint)
        => ProjectionRaceLost(logger.Logger, projection, checkpoint);

    public static void ProjectionReset(this IDiagnosticsLogger<DbLoggerCategory.Update> logger, string projection)
        => ProjectionReset(logger.Logger, projection);

    [LoggerMessage(EventId = 470020, EventName = "EventSourcing.ProjectionBatchApplied", Level = LogLevel.Debug,
        Message = "Projection {Projection} applied {Count} events; its checkpoint is now {Checkpoint}.")]
    private static partial void ProjectionBatchApplied(ILogger logger, string projection, int count, GlobalCheckpoint checkpoint);

    [LoggerMessage(EventId = 470021, EventName = "EventSourcing.ProjectionFailed", Level = LogLevel.Error,
        Message = "Projection {Projection} failed and did not advance; retrying in {RetryInterval}.")]
    public static partial void ProjectionFailed(ILogger logger, Exception exception, string projection, TimeSpan retryInterval);

    [LoggerMessage(EventId = 470022, EventName = "EventSourcing.ProjectionRaceLost", Level = LogLevel.Information,
        Message = "Another runner of projection {Projection} moved its checkpoint from {Checkpoint} first; the batch was discarded and is read again.")]
    private static partial void ProjectionRaceLost(ILogger logger, string projection, GlobalCheckpoint checkpoint);

    [LoggerMessage(EventId = 470023, EventName = "EventSourcing.ProjectionReset", Level = LogLevel.Information,
        Message = "Projection {Projection} was reset for a rebuild: read model cleared, checkpoint at the start.")]
    private static partial void ProjectionReset(ILogger logger, string projection);

    [LoggerMessage(EventId = 470024, EventName = "EventSourcing.ProjectionHostStarted", Level = LogLevel.Information,
        Message = "Running catch-up projections {Projections} of {Context}.")]
    public static partial void ProjectionHostStarted(ILogger logger, string projections, string context);

    public static void EventsImported(this IDiagnosticsLogger<DbLoggerCategory.Update> logger, int streams, long events)
        => EventsImported(logger.Logger, streams, events);

    [LoggerMessage(EventId = 470040, EventName = "EventSourcing.EventsImported", Level = LogLevel.Information,
        Message = "Imported {EventCount} events in {StreamCount} new streams.")]
    private static partial void EventsImported(ILogger logger, int streamCount, long eventCount);
}
