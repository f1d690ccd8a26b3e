namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>A claimed outbox row (its attempt already counted), with the global position of its (committed) event.</summary>
internal sealed record OutboxCandidate(
    long Id,
    Guid EventId,
    string Destination,
    string EventType,
    StreamId StreamId,
    long StreamVersion,
    string Payload,
    string Headers,
    int Attempts,
    long? GlobalPosition);
