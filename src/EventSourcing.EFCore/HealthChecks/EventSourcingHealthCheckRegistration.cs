namespace EventSourcing.EFCore;

/// <summary>What the three EventSourcing.EFCore health checks have in common: whether each is registered, its name and tags.</summary>
public abstract class EventSourcingHealthCheckRegistration
{
    /// <summary>Gets or sets a value indicating whether the check is registered (default <see langword="true"/>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Gets or sets the check's name, or <see langword="null"/> (the default) for <c>eventsourcing-&lt;kind&gt;-&lt;context&gt;</c>,
    /// for example <c>eventsourcing-projections-ShopDbContext</c>.
    /// </summary>
    public string? Name { get; set; }

    /// <summary>
    /// Gets the check's tags, for filtering (for example readiness and liveness endpoints with
    /// <c>MapHealthChecks("/ready", new() { Predicate = c =&gt; c.Tags.Contains("ready") })</c>); the default is
    /// <c>eventsourcing</c> alone.
    /// </summary>
    public ISet<string> Tags { get; } = new HashSet<string>(StringComparer.Ordinal) { "eventsourcing" };

    /// <summary>Gets or sets how long the check may run before it is cancelled and reported unhealthy, or <see langword="null"/> (the default) for no limit.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Gets the kind in the default name.</summary>
    private protected abstract string Kind { get; }

    internal string NameFor(Type contextType) => Name ?? $"eventsourcing-{Kind}-{contextType.Name}";
}
