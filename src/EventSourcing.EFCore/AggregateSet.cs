using EventSourcing.EFCore.Aggregates;
using EventSourcing.EFCore.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore;

/// <summary>
/// The aggregates of one type in one DbContext, like a <see cref="DbSet{TEntity}"/>: <see cref="Add"/> a new one,
/// <see cref="LoadAsync(object, CancellationToken)"/> or <see cref="FindAsync"/> an existing one, change it through its
/// methods, and the context's SaveChanges appends its pending events with the version it was loaded at.
/// Obtained with <c>db.Aggregates&lt;T&gt;()</c>.
/// </summary>
/// <typeparam name="TAggregate">The aggregate type, usually an <see cref="AggregateRoot{TId}"/>.</typeparam>
public sealed class AggregateSet<TAggregate>
    where TAggregate : class, IEventSourcedAggregate
{
    private static readonly Func<TAggregate> Create = AggregateFactory.For<TAggregate>();

    private readonly EventStoreSession _session;
    private readonly EventStore _events;

    internal AggregateSet(EventStoreSession session, EventStore events)
    {
        _session = session;
        _events = events;
    }

    /// <summary>Tracks a new aggregate: SaveChanges appends its events to a new stream (ExpectedVersion.NoStream).</summary>
    /// <param name="aggregate">The new aggregate, usually with its creation event raised.</param>
    /// <exception cref="ArgumentNullException"><paramref name="aggregate"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The aggregate is a read-only view, or another instance of its stream is tracked.</exception>
    public void Add(TAggregate aggregate)
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        if (aggregate.IsReadOnly)
        {
            throw new InvalidOperationException(Messages.ReadOnlyAggregate(aggregate.StreamId));
        }

        _session.Track(aggregate, TryGetStreamId(aggregate));
    }

    /// <summary>Loads the aggregate with id <paramref name="id"/> by replaying its events, and tracks it.</summary>
    /// <param name="id">The aggregate id.</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>The aggregate; the same instance for every load of this id in this context.</returns>
    /// <exception cref="AggregateNotFoundException">The aggregate's stream has no events.</exception>
    /// <exception cref="EventHandlerMissingException">A stored event has no handler on the aggregate.</exception>
    public async Task<TAggregate> LoadAsync(object id, CancellationToken cancellationToken = default)
        => await FindAsync(id, cancellationToken).ConfigureAwait(false)
           ?? throw new AggregateNotFoundException(typeof(TAggregate), StreamId.For<TAggregate>(id));

    /// <summary>Loads the aggregate with id <paramref name="id"/> by replaying its events, and tracks it.</summary>
    /// <param name="id">The aggregate id.</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>The aggregate (the same instance for every load of this id in this context), or <see langword="null"/> when its stream has no events.</returns>
    /// <exception cref="EventHandlerMissingException">A stored event has no handler on the aggregate.</exception>
    public async Task<TAggregate?> FindAsync(object id, CancellationToken cancellationToken = default)
    {
        var streamId = StreamId.For<TAggregate>(id);
        if (_session.FindTracked(streamId) is TAggregate tracked)
        {
            return tracked;
        }

        var aggregate = await ReplayAsync(streamId, toVersion: null, asOf: null, cancellationToken).ConfigureAwait(false);
        if (aggregate is not null)
        {
            _session.Track(aggregate, streamId);
        }

        return aggregate;
    }

    /// <summary>Loads a read-only view of the aggregate as it was at <paramref name="atVersion"/>; it is not tracked.</summary>
    /// <param name="id">The aggregate id.</param>
    /// <param name="atVersion">The version to stop at (1 is the state after the first event).</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>The aggregate at that version; raising an event or saving it throws.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="atVersion"/> is below 1.</exception>
    /// <exception cref="AggregateNotFoundException">The stream has fewer than <paramref name="atVersion"/> events.</exception>
    public async Task<TAggregate> LoadAsync(object id, long atVersion, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(atVersion, 1);
        var streamId = StreamId.For<TAggregate>(id);
        var aggregate = await ReplayAsync(streamId, atVersion, asOf: null, cancellationToken).ConfigureAwait(false);
        if (aggregate is null || aggregate.Version != atVersion)
        {
            throw new AggregateNotFoundException(typeof(TAggregate), streamId, atVersion);
        }

        ((IRehydratable)aggregate).MarkReadOnly();
        return aggregate;
    }

    /// <summary>
    /// Loads a read-only view of the aggregate as it was at <paramref name="timestamp"/>: its events appended at or
    /// before that time. It is not tracked.
    /// </summary>
    /// <param name="id">The aggregate id.</param>
    /// <param name="timestamp">The point in time, in UTC.</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>The aggregate as of that time; raising an event or saving it throws.</returns>
    /// <exception cref="ArgumentException"><paramref name="timestamp"/> is not UTC.</exception>
    /// <exception cref="AggregateNotFoundException">The aggregate had no events at that time.</exception>
    public async Task<TAggregate> LoadAsOfAsync(object id, DateTimeOffset timestamp, CancellationToken cancellationToken = default)
    {
        if (timestamp.Offset != TimeSpan.Zero)
        {
            throw new ArgumentException(Messages.TimestampNotUtc(nameof(timestamp)), nameof(timestamp));
        }

        var streamId = StreamId.For<TAggregate>(id);
        var aggregate = await ReplayAsync(streamId, toVersion: null, timestamp, cancellationToken).ConfigureAwait(false)
            ?? throw new AggregateNotFoundException(typeof(TAggregate), streamId);
        ((IRehydratable)aggregate).MarkReadOnly();
        return aggregate;
    }

    private async Task<TAggregate?> ReplayAsync(StreamId streamId, long? toVersion, DateTimeOffset? asOf, CancellationToken cancellationToken)
    {
        TAggregate? aggregate = null;
        IRehydratable? rehydratable = null;
        await _events.ReplayAsync(streamId, 1, toVersion, e =>
        {
            if (asOf is { } until && e.Timestamp > until)
            {
                return false;
            }

            if (rehydratable is null)
            {
                aggregate = Create();
                rehydratable = aggregate as IRehydratable ?? throw new InvalidOperationException(Messages.NotRehydratable(typeof(TAggregate)));
            }

            rehydratable.Replay(e.Data);
            return true;
        }, cancellationToken).ConfigureAwait(false);

        if (aggregate is not null && aggregate.StreamId != streamId)
        {
            throw new EventStoreCorruptionException(streamId, null, Messages.AggregateStreamMismatch(typeof(TAggregate), streamId, aggregate.StreamId));
        }

        return aggregate;
    }

    private static StreamId? TryGetStreamId(TAggregate aggregate)
    {
        try
        {
            return aggregate.StreamId;
        }
        catch (InvalidOperationException)
        {
            return null; // the id is set later (by the creation event); identity is checked when it is saved
        }
    }
}
