namespace EventSourcing.EFCore;

/// <summary>
/// Options of the hosted service added by <c>services.AddEventSourcingProjections&lt;TContext&gt;(o =&gt; …)</c>, which
/// runs each catch-up projection of the context independently.
/// </summary>
public sealed class ProjectionHostOptions
{
    private int _batchSize = 500;
    private TimeSpan _minPollInterval = TimeSpan.FromMilliseconds(100);
    private TimeSpan _maxPollInterval = TimeSpan.FromSeconds(5);
    private TimeSpan _retryInterval = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets the most events applied per SaveChanges (and per context); the default is 500.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public int BatchSize
    {
        get => _batchSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(BatchSize));
            _batchSize = value;
        }
    }

    /// <summary>
    /// Gets or sets the wait after a poll that found the projection caught up (default 100 ms). It doubles while the
    /// store stays idle, up to <see cref="MaxPollInterval"/>, and drops back as soon as events arrive.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan MinPollInterval
    {
        get => _minPollInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero, nameof(MinPollInterval));
            _minPollInterval = value;
        }
    }

    /// <summary>Gets or sets the longest wait between polls of an idle store (default 5 s).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan MaxPollInterval
    {
        get => _maxPollInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero, nameof(MaxPollInterval));
            _maxPollInterval = value;
        }
    }

    /// <summary>Gets or sets the wait before a failed projection is tried again (default 30 s); the failure is logged.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan RetryInterval
    {
        get => _retryInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero, nameof(RetryInterval));
            _retryInterval = value;
        }
    }

    /// <summary>
    /// Gets the names of the catch-up projections to run; when empty (the default), every catch-up projection registered
    /// on the context runs.
    /// </summary>
    public ISet<string> Projections { get; } = new HashSet<string>(StringComparer.Ordinal);
}
