using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore;

/// <summary>
/// Thrown when an append with <see cref="ExpectedVersion.StreamExists"/> targets a stream that has no events.
/// Nothing of the SaveChanges that raised it was written.
/// </summary>
public sealed class StreamNotFoundException : DbUpdateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="streamId">The stream that does not exist.</param>
    public StreamNotFoundException(StreamId streamId)
        : base(Messages.StreamNotFound(streamId)) => StreamId = streamId;

    /// <summary>Gets the stream that does not exist.</summary>
    public StreamId StreamId { get; }
}
