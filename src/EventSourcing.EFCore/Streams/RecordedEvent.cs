namespace EventSourcing.EFCore;

/// <summary>
/// An event as stored: the typed event object in its envelope (stream, version, position, id, type name, metadata, time).
/// </summary>
public sealed class RecordedEvent
{
    /// <summary>Creates an envelope. Used by the event store when it reads events.</summary>
    /// <param name="streamId">The stream the event belongs to.</param>
    /// <param name="version">The event's 1-based sequence in its stream.</param>
    /// <param name="globalPosition">The event's store-wide position.</param>
    /// <param name="checkpoint">The read-all cursor just after this event.</param>
    /// <param name="eventId">The event's store-wide unique id.</param>
    /// <param name="eventType">The stable name the event type is stored under.</param>
    /// <param name="eventTypeVersion">The schema version of the event type when the event was stored.</param>
    /// <param name="data">The typed event object.</param>
    /// <param name="metadata">The event's metadata.</param>
    /// <param name="timestamp">When the event was appended, in UTC.</param>
    public RecordedEvent(
        StreamId streamId,
        long version,
        long globalPosition,
        GlobalCheckpoint checkpoint,
        Guid eventId,
        string eventType,
        int eventTypeVersion,
        object data,
        IReadOnlyDictionary<string, string> metadata,
        DateTimeOffset timestamp)
    {
        StreamId = streamId;
        Version = version;
        GlobalPosition = globalPosition;
        Checkpoint = checkpoint;
        EventId = eventId;
        EventType = eventType;
        EventTypeVersion = eventTypeVersion;
        Data = data;
        Metadata = metadata;
        Timestamp = timestamp;
    }

    /// <summary>Gets the stream the event belongs to.</summary>
    public StreamId StreamId { get; }

    /// <summary>Gets the event's 1-based sequence in its stream: after it, the stream is at this version.</summary>
    public long Version { get; }

    /// <summary>Gets the event's store-wide position: unique and increasing, but with possible holes.</summary>
    public long GlobalPosition { get; }

    /// <summary>Gets the read-all cursor just after this event: <c>ReadAllAsync(Checkpoint)</c> returns the events that follow it.</summary>
    public GlobalCheckpoint Checkpoint { get; }

    /// <summary>Gets the event's store-wide unique id.</summary>
    public Guid EventId { get; }

    /// <summary>Gets the stable name the event type is stored under (never a CLR type name).</summary>
    public string EventType { get; }

    /// <summary>Gets the schema version of the event type when the event was stored.</summary>
    public int EventTypeVersion { get; }

    /// <summary>Gets the typed event object.</summary>
    public object Data { get; }

    /// <summary>Gets the event's metadata (empty when it has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Gets the time the event was appended, in UTC.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Returns <c>"stream@version type"</c>.</summary>
    /// <returns>A short description of the event.</returns>
    public override string ToString() => $"{StreamId}@{Version} {EventType}";
}
