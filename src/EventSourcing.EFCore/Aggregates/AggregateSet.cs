using EventSourcing.EFCore.Aggregates.Internal;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Snapshots.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
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
    private readonly DbContext _context;
    private readonly EventStoreSession _session;

    internal AggregateSet(DbContext context, EventStoreSession session)
    {
        _context = context;
        _session = session;
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
    /// <exception cref="EventDeserializationException">A stored event cannot be read (unknown type name, payload that does not deserialize).</exception>
    public async Task<TAggregate> LoadAsync(object id, CancellationToken cancellationToken = default)
        => await FindAsync(id, cancellationToken).ConfigureAwait(false)
           ?? throw new AggregateNotFoundException(typeof(TAggregate), StreamId.For<TAggregate>(id));

    /// <summary>Loads the aggregate with id <paramref name="id"/> by replaying its events, and tracks it.</summary>
    /// <param name="id">The aggregate id.</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>The aggregate (the same instance for every load of this id in this context), or <see langword="null"/> when its stream has no events.</returns>
    /// <exception cref="EventHandlerMissingException">A stored event has no handler on the aggregate.</exception>
    /// <exception cref="EventDeserializationException">A stored event cannot be read (unknown type name, payload that does not deserialize).</exception>
    public async Task<TAggregate?> FindAsync(object id, CancellationToken cancellationToken = default)
    {
        var streamId = StreamId.For<TAggregate>(id);
        if (_session.FindTracked(streamId) is TAggregate tracked)
        {
            return tracked;
        }

        var (aggregate, snapshotIgnored) = await ReplayAsync(streamId, toVersion: null, asOf: null, cancellationToken).ConfigureAwait(false);
        if (aggregate is not null)
        {
            _session.Track(aggregate, streamId);
            if (snapshotIgnored)
            {
                _session.SnapshotRequests.Add(aggregate); // rewrite the stale snapshot at the next save
            }
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
        var (aggregate, _) = await ReplayAsync(streamId, atVersion, asOf: null, cancellationToken).ConfigureAwait(false);
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
        var aggregate = (await ReplayAsync(streamId, toVersion: null, timestamp, cancellationToken).ConfigureAwait(false)).Aggregate
            ?? throw new AggregateNotFoundException(typeof(TAggregate), streamId);
        ((IRehydratable)aggregate).MarkReadOnly();
        return aggregate;
    }

    /// <summary>
    /// Takes a snapshot of the aggregate with id <paramref name="id"/> now, for example after a bulk import: loads it
    /// (tracking it), and saves the context with a snapshot of its state, whatever the snapshot policy says. Like
    /// <c>AppendAsync</c>, this calls SaveChanges, so the context's other pending changes are saved with it.
    /// </summary>
    /// <param name="id">The aggregate id.</param>
    /// <param name="cancellationToken">A token to cancel the load and the save.</param>
    /// <returns>The stream version the snapshot holds.</returns>
    /// <exception cref="AggregateNotFoundException">The aggregate's stream has no events.</exception>
    /// <exception cref="InvalidOperationException"><typeparamref name="TAggregate"/> does not derive from <see cref="AggregateRoot{TId}"/>, or its state cannot be serialized.</exception>
    public async Task<long> SnapshotAsync(object id, CancellationToken cancellationToken = default)
    {
        if (!SnapshotShape.Supports(typeof(TAggregate)))
        {
            throw new InvalidOperationException(Messages.SnapshotNotSupported(typeof(TAggregate)));
        }

        var aggregate = await LoadAsync(id, cancellationToken).ConfigureAwait(false);
        _session.SnapshotRequests.Add(aggregate);
        await _context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return aggregate.Version;
    }

    private Task<(TAggregate? Aggregate, bool SnapshotIgnored)> ReplayAsync(
        StreamId streamId, long? toVersion, DateTimeOffset? asOf, CancellationToken cancellationToken)
        => AggregateLoad<TAggregate>.RunAsync(_context, streamId, toVersion, asOf, cancellationToken);

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
