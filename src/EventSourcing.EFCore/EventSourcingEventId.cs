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

    /// <summary>Whole streams were imported with binary COPY (Information).</summary>
    public static readonly EventId EventsImported = new(BaseId + 40, "EventSourcing.EventsImported");
}
