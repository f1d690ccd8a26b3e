namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>An event validated and serialized at append time, ready to become a row.</summary>
internal readonly record struct PreparedEvent(
    Guid EventId,
    string EventType,
    int EventTypeVersion,
    object Data,
    string Payload,
    string? Metadata,
    DateTimeOffset Timestamp);
