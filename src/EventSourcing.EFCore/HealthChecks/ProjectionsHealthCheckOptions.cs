namespace EventSourcing.EFCore;

/// <summary>
/// The catch-up projections check: <c>Degraded</c> when a projection is more than <see cref="MaxEventsBehind"/> events or
/// <see cref="MaxTimeBehind"/> behind, or when its batches fail in the hosted service of this process;
/// <c>Unhealthy</c> when one is stopped on an error (<see cref="ProjectionErrorPolicy.Stop"/>: a handler or an event
/// failed) or has failed <see cref="FailuresBeforeUnhealthy"/> batches in a row. Back to <c>Healthy</c> when it catches up
/// and its next batch succeeds.
/// </summary>
public sealed class ProjectionsHealthCheckOptions : EventSourcingHealthCheckRegistration
{
    /// <summary>Gets or sets the most events of the types a projection handles it may be behind before the check is degraded (default 1000; at least 0).</summary>
    public long MaxEventsBehind { get; set; } = 1000;

    /// <summary>Gets or sets the oldest age of an event a projection has not applied before the check is degraded (default 1 minute; positive).</summary>
    public TimeSpan MaxTimeBehind { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Gets or sets how many batches in a row a projection may fail in the hosted service (a database or network error)
    /// before the check is unhealthy rather than degraded (default 3; at least 1). A stopped projection is unhealthy at once.
    /// </summary>
    public int FailuresBeforeUnhealthy { get; set; } = 3;

    private protected override string Kind => "projections";
}
