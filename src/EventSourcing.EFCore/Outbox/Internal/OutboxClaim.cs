namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// What one claim transaction committed: the rows now leased to <see cref="Owner"/> until <see cref="LeaseExpiresAt"/>
/// (both on the database's clock, read as <see cref="DatabaseNow"/>), in claim order, and the rows it dead-lettered
/// because their last attempt's lease expired unrecorded.
/// </summary>
internal sealed record OutboxClaim(
    string Owner,
    DateTimeOffset DatabaseNow,
    DateTimeOffset LeaseExpiresAt,
    IReadOnlyList<OutboxCandidate> Messages,
    IReadOnlyList<OutboxExpiredMessage> DeadLettered)
{
    public static OutboxClaim None(string owner) => new(owner, default, default, [], []);
}

/// <summary>A row dead-lettered at claim time: its last attempt's lease expired (crashed or stuck dispatcher).</summary>
internal sealed record OutboxExpiredMessage(long Id, Guid EventId, string Destination, int Attempts);
