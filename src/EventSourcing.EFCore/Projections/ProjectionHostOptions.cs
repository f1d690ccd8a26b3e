namespace EventSourcing.EFCore;

/// <summary>
/// Options of the hosted service added by <c>services.AddEventSourcingProjections&lt;TContext&gt;(…)</c>, which runs each
/// catch-up projection of the context independently. Registered as named options (the name is the context's full type
/// name), bindable from configuration (<c>AddEventSourcingProjections&lt;TContext&gt;().BindConfiguration("…")</c>) and
/// validated at start-up: a value out of range fails <c>host.StartAsync</c> with an <c>OptionsValidationException</c>
/// naming it (with the <c>Action</c> overload, the registration call throws <see cref="ArgumentOutOfRangeException"/>).
/// </summary>
public sealed class ProjectionHostOptions
{
    /// <summary>The default of <see cref="BatchSize"/>: 500 events.</summary>
    public const int DefaultBatchSize = 500;

    /// <summary>Gets the default of <see cref="ReadHorizonStallThreshold"/>: 30 seconds.</summary>
    public static TimeSpan DefaultReadHorizonStallThreshold { get; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets the most events applied per SaveChanges (and per context); the default is 500. Must be at least 1.</summary>
    public int BatchSize { get; set; } = DefaultBatchSize;

    /// <summary>
    /// Gets or sets the wait after a poll that found the projection caught up (default 100 ms). It doubles while the
    /// store stays idle, up to <see cref="MaxPollInterval"/>, and drops back as soon as events arrive. Must be positive.
    /// </summary>
    public TimeSpan MinPollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Gets or sets the longest wait between polls of an idle store (default 5 s). Must be positive.</summary>
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the wait before a failed projection is tried again (default 30 s); the failure is logged. Must be positive.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how long a transaction may hold the read-all horizon (PostgreSQL) while committed events wait behind
    /// it before it counts as a stall (default 30 s; must be positive): catch-up batches then log
    /// <see cref="EventSourcingEventId.ReadHorizonHeldBack"/> naming the holder, and the read-horizon health check of
    /// <c>AddEventSourcing&lt;TContext&gt;()</c> reports it.
    /// </summary>
    public TimeSpan ReadHorizonStallThreshold { get; set; } = DefaultReadHorizonStallThreshold;

    /// <summary>
    /// Gets the names of the catch-up projections to run; when empty (the default), every catch-up projection registered
    /// on the context runs.
    /// </summary>
    public ISet<string> Projections { get; } = new HashSet<string>(StringComparer.Ordinal);
}
