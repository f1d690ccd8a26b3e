namespace EventSourcing.EFCore;

/// <summary>
/// Thrown when an upcaster failed on a stored event: the step (type name, from and to version) and the event (stream
/// and version) are named; the upcaster's own exception is the inner exception. Nothing is skipped.
/// </summary>
public sealed class EventUpcastException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="streamId">The stream of the event (default when unknown).</param>
    /// <param name="streamVersion">The event's version in its stream.</param>
    /// <param name="eventType">The event type name of the upcaster.</param>
    /// <param name="fromVersion">The schema version the failed upcaster reads.</param>
    /// <param name="toVersion">The schema version the failed upcaster produces.</param>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The upcaster's exception.</param>
    public EventUpcastException(
        StreamId streamId, long streamVersion, string eventType, int fromVersion, int toVersion, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        StreamId = streamId;
        StreamVersion = streamVersion;
        EventType = eventType;
        FromVersion = fromVersion;
        ToVersion = toVersion;
    }

    /// <summary>Gets the stream of the event.</summary>
    public StreamId StreamId { get; }

    /// <summary>Gets the event's version in its stream.</summary>
    public long StreamVersion { get; }

    /// <summary>Gets the event type name of the failed upcaster.</summary>
    public string EventType { get; }

    /// <summary>Gets the schema version the failed upcaster reads.</summary>
    public int FromVersion { get; }

    /// <summary>Gets the schema version the failed upcaster produces.</summary>
    public int ToVersion { get; }
}
