namespace EventSourcing.EFCore;

/// <summary>
/// Options of the health checks added by <c>services.AddHealthChecks().AddEventSourcing&lt;TContext&gt;(o =&gt; …)</c>: one
/// check for the catch-up projections, one for the read-all horizon and one for the outbox, each with its name, tags and
/// thresholds. Registered as named options (the name is the context's full type name), bindable from configuration
/// (<c>services.AddOptions&lt;EventSourcingHealthCheckOptions&gt;(typeof(TContext).FullName).BindConfiguration("…")</c>) and
/// validated at start-up.
/// </summary>
public sealed class EventSourcingHealthCheckOptions
{
    /// <summary>Gets the options of the catch-up projections check (lag and failures).</summary>
    public ProjectionsHealthCheckOptions Projections { get; } = new();

    /// <summary>Gets the options of the read-all horizon check (PostgreSQL: a transaction holding the store back).</summary>
    public ReadHorizonHealthCheckOptions ReadHorizon { get; } = new();

    /// <summary>Gets the options of the outbox check (dead letters, oldest pending message).</summary>
    public OutboxHealthCheckOptions Outbox { get; } = new();
}
