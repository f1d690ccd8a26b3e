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

    public static void EventsImported(this IDiagnosticsLogger<DbLoggerCategory.Update> logger, int streams, long events)
        => EventsImported(logger.Logger, streams, events);

    [LoggerMessage(EventId = 470040, EventName = "EventSourcing.EventsImported", Level = LogLevel.Information,
        Message = "Imported {EventCount} events in {StreamCount} new streams.")]
    private static partial void EventsImported(ILogger logger, int streamCount, long eventCount);
}
