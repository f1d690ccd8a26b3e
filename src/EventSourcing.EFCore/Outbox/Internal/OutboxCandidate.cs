namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// A claimed outbox row, with the global position of its (committed) event. <see cref="Attempts"/> is the number of this
/// attempt (1-based); <see cref="Charged"/> says whether the claim already counted it (the rows of a stream head's
/// version) or it is counted when its outcome is recorded (the rest of a stream's run).
/// </summary>
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
    long? GlobalPosition,
    bool Charged);
