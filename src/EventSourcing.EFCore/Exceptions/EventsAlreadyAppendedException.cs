using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore;

/// <summary>
/// Thrown when every batch of a SaveChanges is a replay: each of its event ids is already stored in the same stream,
/// at consecutive versions, in the same order. Nothing was written; the earlier append had succeeded.
/// </summary>
/// <remarks>
/// This lets a caller that retries after an unknown outcome (a timeout during commit, say) tell "already done" from
/// a failure. It is raised only when no batch of the SaveChanges conflicts and none adds new events.
/// </remarks>
public sealed class EventsAlreadyAppendedException : DbUpdateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="streamId">The stream the batch was already appended to.</param>
    /// <param name="firstVersion">The version of the batch's first event as stored.</param>
    /// <param name="lastVersion">The version of the batch's last event as stored.</param>
    /// <param name="currentVersion">The stream's current version.</param>
    public EventsAlreadyAppendedException(StreamId streamId, long firstVersion, long lastVersion, long currentVersion)
        : base(Messages.EventsAlreadyAppended(streamId, firstVersion, lastVersion, currentVersion))
    {
        StreamId = streamId;
        FirstVersion = firstVersion;
        LastVersion = lastVersion;
        CurrentVersion = currentVersion;
    }

    /// <summary>Gets the stream the batch was already appended to.</summary>
    public StreamId StreamId { get; }

    /// <summary>Gets the version at which the batch's first event is stored.</summary>
    public long FirstVersion { get; }

    /// <summary>Gets the version at which the batch's last event is stored.</summary>
    public long LastVersion { get; }

    /// <summary>Gets the stream's current version, which may be past <see cref="LastVersion"/>.</summary>
    public long CurrentVersion { get; }
}
