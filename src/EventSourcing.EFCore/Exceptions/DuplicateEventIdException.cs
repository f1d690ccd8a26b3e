using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore;

/// <summary>
/// Thrown when an appended event's id is already stored somewhere other than a replay of the same batch: in another
/// stream, at another position, or as part of a batch mixed with new events. Nothing was written.
/// </summary>
public sealed class DuplicateEventIdException : DbUpdateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="eventId">The id already stored.</param>
    /// <param name="streamId">The stream the rejected append targeted.</param>
    /// <param name="existingStreamId">The stream where the id is stored.</param>
    /// <param name="existingVersion">The version at which the id is stored.</param>
    /// <param name="innerException">The database error that revealed the clash, if any.</param>
    public DuplicateEventIdException(Guid eventId, StreamId streamId, StreamId existingStreamId, long existingVersion, Exception? innerException = null)
        : base(Messages.DuplicateEventId(eventId, streamId, existingStreamId, existingVersion), innerException)
    {
        EventId = eventId;
        StreamId = streamId;
        ExistingStreamId = existingStreamId;
        ExistingVersion = existingVersion;
    }

    /// <summary>Gets the id that is already stored.</summary>
    public Guid EventId { get; }

    /// <summary>Gets the stream the rejected append targeted.</summary>
    public StreamId StreamId { get; }

    /// <summary>Gets the stream where the id is stored.</summary>
    public StreamId ExistingStreamId { get; }

    /// <summary>Gets the version at which the id is stored in <see cref="ExistingStreamId"/>.</summary>
    public long ExistingVersion { get; }
}
