namespace EventSourcing.EFCore;

/// <summary>
/// The names of the headers the outbox adds to every <see cref="OutboxMessage"/>. They take precedence over metadata
/// and route headers of the same name.
/// </summary>
public static class OutboxHeaders
{
    /// <summary>The event's stream type.</summary>
    public const string StreamType = "es-stream-type";

    /// <summary>The event's stream id within its type.</summary>
    public const string StreamId = "es-stream-id";

    /// <summary>The event's version in its stream (decimal).</summary>
    public const string Version = "es-version";

    /// <summary>The event's store-wide position (decimal), known once the event is committed.</summary>
    public const string GlobalPosition = "es-global-position";

    /// <summary>The stable event type name.</summary>
    public const string EventType = "es-event-type";

    /// <summary>The schema version of the event type (decimal).</summary>
    public const string EventTypeVersion = "es-event-type-version";

    /// <summary>
    /// The schema version the event was stored with (decimal), present only when upcasters moved it to the current
    /// <see cref="EventTypeVersion"/> before it was published.
    /// </summary>
    public const string StoredEventTypeVersion = "es-stored-event-type-version";

    /// <summary>The event id (the same as <see cref="OutboxMessage.MessageId"/>).</summary>
    public const string EventId = "es-event-id";

    /// <summary>The time the event was appended, UTC, ISO 8601 round-trip format.</summary>
    public const string Timestamp = "es-timestamp";
}
