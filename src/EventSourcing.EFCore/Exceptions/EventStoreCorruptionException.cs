namespace EventSourcing.EFCore;

/// <summary>
/// Thrown when stored events do not match what was asked for: an event of another stream in a stream read, a gap in
/// a stream's versions, or an envelope that cannot be read. It points at data changed outside the library.
/// </summary>
public sealed class EventStoreCorruptionException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="streamId">The stream being read.</param>
    /// <param name="globalPosition">The position of the offending row, when known.</param>
    /// <param name="message">What does not match.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public EventStoreCorruptionException(StreamId streamId, long? globalPosition, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        StreamId = streamId;
        GlobalPosition = globalPosition;
    }

    /// <summary>Gets the stream being read (default when reading all events).</summary>
    public StreamId StreamId { get; }

    /// <summary>Gets the global position of the offending row, when known.</summary>
    public long? GlobalPosition { get; }
}
