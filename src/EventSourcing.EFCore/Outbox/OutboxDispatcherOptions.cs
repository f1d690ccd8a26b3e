namespace EventSourcing.EFCore;

/// <summary>
/// How the hosted outbox dispatcher registered by <c>services.AddEventSourcingOutbox</c> runs. What it dispatches, the
/// retry policy, ordering and retention are set on the DbContext with <c>UseOutbox</c>, so that every dispatcher of a
/// store (hosted, tool or test) follows the same rules.
/// </summary>
public sealed class OutboxDispatcherOptions
{
    /// <summary>Gets or sets how long the dispatcher waits when nothing was due (default 1 second).</summary>
    public TimeSpan PollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets how often dispatched messages older than the retention are deleted (default 1 hour).</summary>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Gets or sets how often pending count, oldest pending age and dead letters are logged (default 1 minute).</summary>
    public TimeSpan StatsInterval { get; set; } = TimeSpan.FromMinutes(1);
}
