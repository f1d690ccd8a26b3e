using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.OutboxInternal;

namespace EventSourcing.EFCore.Infrastructure;

/// <summary>
/// Configures the transactional outbox: which events produce a message, to which destination, with which headers, and
/// how the messages are dispatched (retries, ordering, batch size, retention). Obtained from
/// <c>UseEventSourcing(es => es.UseOutbox(o => …))</c>.
/// </summary>
/// <remarks>
/// An event that matches several routes produces one message per distinct destination (the first matching route
/// of a destination supplies its headers). Predicates and header callbacks run inside SaveChanges, before the event is
/// written: <see cref="RecordedEvent.GlobalPosition"/> is 0 there (the <see cref="OutboxHeaders.GlobalPosition"/>
/// header is added at dispatch time).
/// </remarks>
public sealed class OutboxOptionsBuilder
{
    internal OutboxOptionsBuilder(OutboxSettings settings) => Settings = settings;

    internal OutboxSettings Settings { get; private set; }

    /// <summary>Publishes every event whose data is a <typeparamref name="TEvent"/> (a class, base class or interface) to <paramref name="destination"/>.</summary>
    /// <typeparam name="TEvent">The event type, base type or interface.</typeparam>
    /// <param name="destination">The topic, exchange or queue name given to the publisher.</param>
    /// <param name="headers">Adds headers to each message from the event, or <see langword="null"/>.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is null, empty or white space.</exception>
    public OutboxOptionsBuilder Publish<TEvent>(string destination, Action<RecordedEvent, IDictionary<string, string>>? headers = null)
        => Route(static e => e.Data is TEvent, destination, headers);

    /// <summary>Publishes every event that <paramref name="predicate"/> selects to <paramref name="destination"/>.</summary>
    /// <param name="predicate">Selects events; it runs inside SaveChanges, so keep it fast and free of I/O.</param>
    /// <param name="destination">The topic, exchange or queue name given to the publisher.</param>
    /// <param name="headers">Adds headers to each message from the event, or <see langword="null"/>.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="predicate"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is null, empty or white space.</exception>
    public OutboxOptionsBuilder Publish(Func<RecordedEvent, bool> predicate, string destination, Action<RecordedEvent, IDictionary<string, string>>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return Route(predicate, destination, headers);
    }

    /// <summary>Publishes every event to <paramref name="destination"/>.</summary>
    /// <param name="destination">The topic, exchange or queue name given to the publisher.</param>
    /// <param name="headers">Adds headers to each message from the event, or <see langword="null"/>.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is null, empty or white space.</exception>
    public OutboxOptionsBuilder PublishAll(string destination, Action<RecordedEvent, IDictionary<string, string>>? headers = null)
        => Route(static _ => true, destination, headers);

    /// <summary>Sets how many publish attempts a message gets before it becomes a dead letter (default 10).</summary>
    /// <param name="attempts">The number of attempts, at least 1.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="attempts"/> is below 1.</exception>
    public OutboxOptionsBuilder MaxAttempts(int attempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempts, 1);
        return With(Settings with { MaxAttempts = attempts });
    }

    /// <summary>
    /// Sets the retry delay after a failed publish: <paramref name="initialDelay"/> after the first failure, doubling
    /// after each further one up to <paramref name="maxDelay"/>, with jitter (between half and all of it). The defaults
    /// are 1 second and 5 minutes; <see cref="TimeSpan.Zero"/> retries at once.
    /// </summary>
    /// <param name="initialDelay">The delay after the first failure; zero or more.</param>
    /// <param name="maxDelay">The largest delay; at least <paramref name="initialDelay"/>.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A delay is negative, or <paramref name="maxDelay"/> is below <paramref name="initialDelay"/>.</exception>
    public OutboxOptionsBuilder RetryBackoff(TimeSpan initialDelay, TimeSpan maxDelay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(initialDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDelay, initialDelay);
        return With(Settings with { InitialBackoff = initialDelay, MaxBackoff = maxDelay });
    }

    /// <summary>
    /// Gives up per-stream order for throughput: messages are dispatched as soon as they are due, whatever earlier
    /// messages of their stream are doing, and published concurrently (the publisher must be thread-safe). By default a
    /// stream's next message waits while an earlier one is pending or retrying.
    /// </summary>
    /// <param name="maxDegreeOfParallelism">The number of concurrent publishes per dispatcher (default 8).</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxDegreeOfParallelism"/> is below 1.</exception>
    public OutboxOptionsBuilder DispatchUnordered(int maxDegreeOfParallelism = OutboxSettings.DefaultMaxDegreeOfParallelism)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDegreeOfParallelism, 1);
        return With(Settings with { PreserveStreamOrder = false, MaxDegreeOfParallelism = maxDegreeOfParallelism });
    }

    /// <summary>Sets how many messages a dispatcher claims per transaction (default 100).</summary>
    /// <param name="size">The batch size, at least 1.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is below 1.</exception>
    public OutboxOptionsBuilder BatchSize(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        return With(Settings with { BatchSize = size });
    }

    /// <summary>Sets how long dispatched messages are kept before <c>DeleteDispatchedAsync</c> (and the hosted dispatcher) deletes them (default 7 days).</summary>
    /// <param name="retention">The retention; zero or more.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="retention"/> is negative.</exception>
    public OutboxOptionsBuilder RetainDispatchedFor(TimeSpan retention)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retention, TimeSpan.Zero);
        return With(Settings with { Retention = retention });
    }

    /// <summary>
    /// Sets how long one publish may take (default 30 seconds): then its cancellation token is cancelled, the dispatcher
    /// stops waiting for it, and the message counts as a failed attempt (retried with backoff, dead-lettered after the
    /// last attempt). It must be shorter than the lease (<see cref="LeaseFor"/>).
    /// </summary>
    /// <param name="timeout">The timeout, more than zero.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is zero or negative.</exception>
    /// <remarks><c>UseOutbox</c> throws <see cref="InvalidOperationException"/> when the timeout is not shorter than the lease.</remarks>
    public OutboxOptionsBuilder PublishTimeout(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        return With(Settings with { PublishTimeout = timeout });
    }

    /// <summary>
    /// Sets how long a dispatcher holds the messages it claimed (default 1 minute). A dispatcher claims a batch in a short
    /// transaction, publishes with no transaction open, and then marks each message; if it crashes or hangs, its
    /// messages are claimed again by another dispatcher once the lease expires (the lost attempt counts, with its
    /// backoff). A dispatcher starts no publish that its lease could not cover: the lease must be longer than the publish
    /// timeout (<see cref="PublishTimeout"/>).
    /// </summary>
    /// <param name="lease">The lease, longer than the publish timeout.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lease"/> is zero or negative.</exception>
    /// <remarks><c>UseOutbox</c> throws <see cref="InvalidOperationException"/> when the lease is not longer than the publish timeout.</remarks>
    public OutboxOptionsBuilder LeaseFor(TimeSpan lease)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        return With(Settings with { LeaseDuration = lease });
    }

    /// <summary>Checks the settings that depend on each other, once <c>UseOutbox</c>'s callback has set them all.</summary>
    internal void Validate()
    {
        if (Settings.LeaseDuration <= Settings.PublishTimeout)
        {
            throw new InvalidOperationException(Messages.OutboxLeaseNotLongerThanPublishTimeout(Settings.LeaseDuration, Settings.PublishTimeout));
        }
    }

    private OutboxOptionsBuilder Route(Func<RecordedEvent, bool> predicate, string destination, Action<RecordedEvent, IDictionary<string, string>>? headers)
    {
        StreamId.Validate(destination, nameof(destination)); // not blank, at most 256 characters, no control characters or lone surrogates
        return With(Settings with { Routes = Settings.Routes.Add(new OutboxRoute(predicate, destination, headers)) });
    }

    private OutboxOptionsBuilder With(OutboxSettings settings)
    {
        Settings = settings;
        return this;
    }
}
