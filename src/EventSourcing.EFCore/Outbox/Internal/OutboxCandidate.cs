namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>A claimed outbox row, with the global position of its (committed) event.</summary>
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

/// <summary>What became of one claimed row: published, retried later, or dead-lettered.</summary>
internal sealed record OutboxOutcome(long Id, int Attempts, DateTimeOffset At, DateTimeOffset? NextAttemptAt, string? Error)
{
    public bool Published => Error is null;

    public bool DeadLettered => Error is not null && NextAttemptAt is null;
}

/// <summary>The outcomes of one claimed batch; <see cref="Canceled"/> when the caller's token stopped it early.</summary>
internal sealed record OutboxBatchResult(int Claimed, IReadOnlyList<OutboxOutcome> Outcomes, bool Canceled)
{
    public static OutboxBatchResult Empty { get; } = new(0, [], false);

    public int Published => Outcomes.Count(o => o.Published);
}
