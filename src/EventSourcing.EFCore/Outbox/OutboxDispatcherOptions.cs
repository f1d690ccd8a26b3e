namespace EventSourcing.EFCore;

/// <summary>
/// How the hosted outbox dispatcher registered by <c>services.AddEventSourcingOutbox</c> runs. What it dispatches, the
/// retry policy, ordering and retention are set on the DbContext with <c>UseOutbox</c>, so that every dispatcher of a
/// store (hosted, tool or test) follows the same rules. Registered as named options (the name is the context's full type
/// name), bindable from configuration (<c>AddEventSourcingOutbox&lt;TContext, TPublisher&gt;().BindConfiguration("…")</c>)
/// and validated at start-up: a value out of range fails <c>host.StartAsync</c> with an <c>OptionsValidationException</c>
/// naming it (with the <c>Action</c> overload, the registration call throws <see cref="ArgumentOutOfRangeException"/>).
/// </summary>
public sealed class OutboxDispatcherOptions
{
    /// <summary>Gets or sets how long the dispatcher waits when nothing was due (default 1 second). Must be positive.</summary>
    public TimeSpan PollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets how often dispatched messages older than the retention are deleted (default 1 hour). Must be positive.</summary>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Gets or sets how often pending count, oldest pending age and dead letters are logged (default 1 minute). Must be positive.</summary>
    public TimeSpan StatsInterval { get; set; } = TimeSpan.FromMinutes(1);
}
