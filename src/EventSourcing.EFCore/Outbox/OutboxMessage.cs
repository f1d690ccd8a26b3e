namespace EventSourcing.EFCore;

/// <summary>One message handed to an <see cref="IOutboxPublisher"/>: an event chosen by <c>UseOutbox</c>, with its destination and headers.</summary>
public sealed class OutboxMessage
{
    /// <summary>Gets the message id: the event's id, the same on every attempt, so consumers can deduplicate on it.</summary>
    public required Guid MessageId { get; init; }

    /// <summary>Gets the destination (topic, exchange, queue) chosen by the outbox route.</summary>
    public required string Destination { get; init; }

    /// <summary>Gets the stable event type name (never a CLR type name).</summary>
    public required string EventType { get; init; }

    /// <summary>Gets the event as JSON text.</summary>
    public required string Payload { get; init; }

    /// <summary>
    /// Gets the headers: the event's string metadata (correlation and causation ids among them), the route's headers, and
    /// the library's <see cref="OutboxHeaders"/> (stream type and id, version, global position, event type, event id, timestamp).
    /// </summary>
    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    /// <summary>Gets the stream the event belongs to (for example as a partition key).</summary>
    public required StreamId StreamId { get; init; }

    /// <summary>Gets the 1-based number of this publish attempt.</summary>
    public required int Attempt { get; init; }

    /// <summary>Returns <c>"messageId → destination (type)"</c>.</summary>
    /// <returns>A short description of the message.</returns>
    public override string ToString() => $"{MessageId} -> {Destination} ({EventType})";
}
