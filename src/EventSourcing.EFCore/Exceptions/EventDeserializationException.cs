namespace EventSourcing.EFCore;

/// <summary>
/// Thrown when a stored event row cannot be turned back into an event: its type name is registered by no event type,
/// or its payload or metadata does not deserialize (whatever the serializer or a converter threw is the
/// <see cref="Exception.InnerException"/>). Raised the same way on every read path: stream reads, read-all, aggregate
/// loads, live folds and catch-up projections.
/// </summary>
public sealed class EventDeserializationException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="streamId">The stream of the unreadable event.</param>
    /// <param name="version">The event's version in its stream.</param>
    /// <param name="globalPosition">The event's global position.</param>
    /// <param name="eventType">The type name stored with the event.</param>
    /// <param name="message">What cannot be read.</param>
    /// <param name="innerException">The error raised while reading it.</param>
    public EventDeserializationException(StreamId streamId, long version, long globalPosition, string eventType, string message, Exception innerException)
        : base(message, innerException)
    {
        StreamId = streamId;
        Version = version;
        GlobalPosition = globalPosition;
        EventType = eventType;
    }

    /// <summary>Gets the stream of the unreadable event.</summary>
    public StreamId StreamId { get; }

    /// <summary>Gets the event's version in its stream.</summary>
    public long Version { get; }

    /// <summary>Gets the event's global position.</summary>
    public long GlobalPosition { get; }

    /// <summary>Gets the type name stored with the event.</summary>
    public string EventType { get; }
}
