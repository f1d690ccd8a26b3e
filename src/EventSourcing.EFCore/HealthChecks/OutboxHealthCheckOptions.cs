namespace EventSourcing.EFCore;

/// <summary>
/// The outbox check: <c>Degraded</c> when the outbox holds more than <see cref="MaxDeadLetters"/> dead letters or its
/// oldest pending message has waited longer than <see cref="MaxPendingAge"/>; back to <c>Healthy</c> when they are
/// requeued or purged and the backlog is published. A context without an outbox (no <c>UseOutbox</c>) is reported healthy,
/// with a description saying so.
/// </summary>
public sealed class OutboxHealthCheckOptions : EventSourcingHealthCheckRegistration
{
    /// <summary>Gets or sets the most dead letters the outbox may hold before the check is degraded (default 0; at least 0).</summary>
    public long MaxDeadLetters { get; set; }

    /// <summary>Gets or sets how long the oldest pending message may wait before the check is degraded (default 5 minutes; positive).</summary>
    public TimeSpan MaxPendingAge { get; set; } = TimeSpan.FromMinutes(5);

    private protected override string Kind => "outbox";
}
