using System.Collections.Immutable;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>The outbox configuration set by <c>UseOutbox</c>: routes, retry policy, ordering, batch size, retention.</summary>
internal sealed record OutboxSettings
{
    public const int DefaultMaxAttempts = 10;
    public const int DefaultBatchSize = 100;
    public const int DefaultMaxDegreeOfParallelism = 8;

    public static readonly TimeSpan DefaultInitialBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultMaxBackoff = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(7);
    public static readonly TimeSpan DefaultPublishTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultLeaseDuration = TimeSpan.FromMinutes(1);

    public ImmutableArray<OutboxRoute> Routes { get; init; } = [];

    public int MaxAttempts { get; init; } = DefaultMaxAttempts;

    public TimeSpan InitialBackoff { get; init; } = DefaultInitialBackoff;

    public TimeSpan MaxBackoff { get; init; } = DefaultMaxBackoff;

    /// <summary>Gets a value indicating whether a stream's next message waits while an earlier one is pending (the default).</summary>
    public bool PreserveStreamOrder { get; init; } = true;

    /// <summary>Gets the number of concurrent publishes in unordered mode.</summary>
    public int MaxDegreeOfParallelism { get; init; } = DefaultMaxDegreeOfParallelism;

    public int BatchSize { get; init; } = DefaultBatchSize;

    public TimeSpan Retention { get; init; } = DefaultRetention;

    /// <summary>Gets how long one publish may take before its token is cancelled and it counts as a failed attempt.</summary>
    public TimeSpan PublishTimeout { get; init; } = DefaultPublishTimeout;

    /// <summary>
    /// Gets how long a claimed message stays leased to its dispatcher: after that (a crashed or stuck dispatcher) another
    /// dispatcher may claim it again. Always longer than <see cref="PublishTimeout"/>.
    /// </summary>
    public TimeSpan LeaseDuration { get; init; } = DefaultLeaseDuration;

    /// <summary>
    /// Returns the delay before attempt <paramref name="failedAttempts"/> + 1: exponential from the initial backoff,
    /// capped at the maximum, with "equal jitter" (half fixed, half random) so that failed messages spread out.
    /// </summary>
    public TimeSpan BackoffAfter(int failedAttempts)
    {
        if (InitialBackoff <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var exponent = Math.Min(failedAttempts - 1, 30);
        var ticks = Math.Min((double)InitialBackoff.Ticks * Math.Pow(2, exponent), MaxBackoff.Ticks);
        return TimeSpan.FromTicks((long)(ticks / 2 + Random.Shared.NextDouble() * ticks / 2));
    }
}

/// <summary>One outbox route: the events it selects, their destination and extra headers.</summary>
internal sealed record OutboxRoute(Func<RecordedEvent, bool> Predicate, string Destination, Action<RecordedEvent, IDictionary<string, string>>? Headers);
