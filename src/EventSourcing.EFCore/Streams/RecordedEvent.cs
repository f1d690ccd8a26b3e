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
        StoredEventType = eventType;
        ReceivedEventTypeVersion = eventTypeVersion;
    }

    /// <summary>Creates an envelope of an event read after upcasting. Used by the event store when it reads events.</summary>
    /// <param name="streamId">The stream the event belongs to.</param>
    /// <param name="version">The event's 1-based sequence in its stream.</param>
    /// <param name="globalPosition">The event's store-wide position.</param>
    /// <param name="checkpoint">The read-all cursor just after this event.</param>
    /// <param name="eventId">The event's store-wide unique id.</param>
    /// <param name="eventType">The current name of the event type.</param>
    /// <param name="eventTypeVersion">The schema version of the event type when the event was stored.</param>
    /// <param name="data">The typed event object, as upcast.</param>
    /// <param name="metadata">The event's metadata.</param>
    /// <param name="timestamp">When the event was appended, in UTC.</param>
    /// <param name="storedEventType">The name the event is stored under (an alias of <paramref name="eventType"/> after a rename).</param>
    /// <param name="receivedEventTypeVersion">The schema version of <paramref name="data"/>'s type.</param>
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
        DateTimeOffset timestamp,
        string storedEventType,
        int receivedEventTypeVersion)
        : this(streamId, version, globalPosition, checkpoint, eventId, eventType, eventTypeVersion, data, metadata, timestamp)
    {
        StoredEventType = storedEventType;
        ReceivedEventTypeVersion = receivedEventTypeVersion;
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

    /// <summary>
    /// Gets the stable name of the event type (never a CLR type name): the name it is stored under, or its current name
    /// when it is stored under an alias (see <see cref="StoredEventType"/>).
    /// </summary>
    public string EventType { get; }

    /// <summary>Gets the schema version of the event type when the event was stored.</summary>
    public int EventTypeVersion { get; }

    /// <summary>Gets the name the event is stored under: <see cref="EventType"/>, or an earlier name (alias) of it.</summary>
    public string StoredEventType { get; }

    /// <summary>
    /// Gets the schema version of <see cref="Data"/>'s type: the current version when upcasters moved the event from
    /// the stored <see cref="EventTypeVersion"/>, otherwise equal to it.
    /// </summary>
    public int ReceivedEventTypeVersion { get; }

    /// <summary>Gets a value indicating whether upcasters changed the event (the received version differs from the stored one).</summary>
    public bool IsUpcast => ReceivedEventTypeVersion != EventTypeVersion;

    /// <summary>
    /// Gets a value indicating whether the event's type was declared obsolete: <see cref="Data"/> is then an
    /// <see cref="ObsoleteEvent"/> with the stored JSON.
    /// </summary>
    public bool IsObsolete => Data is ObsoleteEvent;

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
