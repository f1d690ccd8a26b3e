namespace EventSourcing.EFCore;

/// <summary>
/// Selects dead letters for <c>db.Outbox().GetDeadLettersAsync</c>, <c>RequeueDeadLettersAsync</c> and
/// <c>PurgeDeadLettersAsync</c>: every condition that is set must hold; an empty filter selects every dead letter.
/// </summary>
public sealed class OutboxDeadLetterFilter
{
    /// <summary>Gets the destination the dead letters were routed to (exact, case-sensitive), or <see langword="null"/> for any.</summary>
    public string? Destination { get; init; }

    /// <summary>Gets a text the last error must contain (case-sensitive), for example an exception type name, or <see langword="null"/> for any.</summary>
    public string? ErrorContains { get; init; }

    /// <summary>Gets the message id (the event id), or <see langword="null"/> for any.</summary>
    public Guid? MessageId { get; init; }
}
