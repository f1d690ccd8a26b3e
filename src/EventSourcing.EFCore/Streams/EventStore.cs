using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore;

/// <summary>
/// The event store of one DbContext, obtained with <c>db.Events()</c>: append to streams (staged, committed by the
/// context's SaveChanges), read a stream, read all events in commit order, and get a stream's version.
/// </summary>
public sealed class EventStore
{
    private readonly DbContext _context;
    private readonly EventStoreSession _session;
    private readonly EventReader _reader;

    internal EventStore(DbContext context, EventStoreSession session, EventReader reader)
    {
        _context = context;
        _session = session;
        _reader = reader;
    }

    private EventSourcingOptionsExtension Options => _context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!;

    /// <summary>
    /// Stages events for <paramref name="streamId"/>; the context's next successful SaveChanges writes them in the same
    /// transaction as its other changes. The events are validated and serialized now.
    /// </summary>
    /// <param name="streamId">The stream to append to.</param>
    /// <param name="expectedVersion">The version the stream must be at when the events are written.</param>
    /// <param name="events">Event objects, or <see cref="EventData"/> to supply an id, metadata or timestamp.</param>
    /// <exception cref="ArgumentException"><paramref name="streamId"/> is default, or the batch repeats an event id.</exception>
    /// <exception cref="EventValidationException">An event is invalid (too large, non-UTC timestamp, empty id …).</exception>
    /// <exception cref="UnknownEventTypeException">An event's type is not registered.</exception>
    public void Append(StreamId streamId, ExpectedVersion expectedVersion, params object[] events)
        => Stage(streamId, expectedVersion, events);

    /// <summary>
    /// Stages events for <paramref name="streamId"/>; the context's next successful SaveChanges writes them in the same
    /// transaction as its other changes. The events are validated and serialized now.
    /// </summary>
    /// <param name="streamId">The stream to append to.</param>
    /// <param name="expectedVersion">The version the stream must be at when the events are written.</param>
    /// <param name="events">Event objects, or <see cref="EventData"/> to supply an id, metadata or timestamp.</param>
    /// <exception cref="ArgumentException"><paramref name="streamId"/> is default, or the batch repeats an event id.</exception>
    /// <exception cref="EventValidationException">An event is invalid (too large, non-UTC timestamp, empty id …).</exception>
    /// <exception cref="UnknownEventTypeException">An event's type is not registered.</exception>
    public void Append(StreamId streamId, ExpectedVersion expectedVersion, IEnumerable<object> events)
        => Stage(streamId, expectedVersion, events);

    /// <summary>
    /// Stages events for <paramref name="streamId"/> and saves the context (with any other pending changes) at once.
    /// </summary>
    /// <param name="streamId">The stream to append to.</param>
    /// <param name="expectedVersion">The version the stream must be at.</param>
    /// <param name="events">Event objects, or <see cref="EventData"/> to supply an id, metadata or timestamp.</param>
    /// <param name="cancellationToken">A token to cancel the save.</param>
    /// <returns>The stream's version after the append.</returns>
    /// <exception cref="StreamConcurrencyException">The stream is not at <paramref name="expectedVersion"/>.</exception>
    /// <exception cref="StreamNotFoundException"><paramref name="expectedVersion"/> is StreamExists and the stream has no events.</exception>
    /// <exception cref="EventsAlreadyAppendedException">The same batch (same ids, same order) is already stored in the stream.</exception>
    /// <exception cref="DuplicateEventIdException">An event id is already stored elsewhere.</exception>
    /// <exception cref="EventValidationException">An event is invalid.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<long> AppendAsync(
        StreamId streamId, ExpectedVersion expectedVersion, IEnumerable<object> events, CancellationToken cancellationToken = default)
    {
        var append = Stage(streamId, expectedVersion, events);
        try
        {
            await _context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Saved batches are unstaged already; a failed one must not linger to be retried by an unrelated save.
            _session.Unstage(append);
        }

        return append.ResultVersion ?? throw new InvalidOperationException(Messages.AppendNotSaved(streamId));
    }

    /// <summary>
    /// Discards the batches staged on this context by <see cref="Append(StreamId, ExpectedVersion, object[])"/> and not
    /// yet saved, for example after a failed SaveChanges that should not be retried (the event store's counterpart of
    /// <c>ChangeTracker.Clear()</c>, which does not touch staged events).
    /// </summary>
    public void ClearStaged() => _session.ClearStaged();

    /// <summary>
    /// Reads the events of <paramref name="streamId"/> from <paramref name="fromVersion"/> to <paramref name="toVersion"/>
    /// (both inclusive) in version order, paging until the stream ends.
    /// </summary>
    /// <param name="streamId">The stream to read.</param>
    /// <param name="fromVersion">The first version to return (1 is the first event; 0 means the same).</param>
    /// <param name="toVersion">The last version to return, or <see langword="null"/> for the end of the stream.</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>The events, each in its envelope; empty when the stream does not exist.</returns>
    /// <exception cref="ArgumentException"><paramref name="streamId"/> is default.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A version is negative, or <paramref name="toVersion"/> is below <paramref name="fromVersion"/>.</exception>
    /// <exception cref="EventStoreCorruptionException">A stored event does not belong where it was found.</exception>
    /// <exception cref="EventDeserializationException">A stored event's type name is not registered, or its payload or metadata does not deserialize.</exception>
    public IAsyncEnumerable<RecordedEvent> ReadStreamAsync(
        StreamId streamId, long fromVersion = 1, long? toVersion = null, CancellationToken cancellationToken = default)
    {
        StreamId.ThrowIfDefault(streamId, nameof(streamId));
        ArgumentOutOfRangeException.ThrowIfNegative(fromVersion);
        if (toVersion is { } to)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(to, fromVersion, nameof(toVersion));
        }

        return _reader.ReadStreamAsync(streamId, fromVersion, toVersion, cancellationToken);
    }

    /// <summary>
    /// Reads every event after <paramref name="checkpoint"/> in the store-wide commit order, paging by
    /// <paramref name="batchSize"/> until it reaches the newest committed event. On PostgreSQL an event is returned only
    /// once no earlier transaction can still commit before it, so a reader never skips a late commit.
    /// </summary>
    /// <param name="checkpoint">Where to start: <see cref="GlobalCheckpoint.Start"/>, or a <see cref="RecordedEvent.Checkpoint"/> returned earlier.</param>
    /// <param name="batchSize">The number of events fetched per query (default 1000).</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>The events in commit order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is below 1.</exception>
    /// <exception cref="EventDeserializationException">A stored event's type name is not registered, or its payload or metadata does not deserialize.</exception>
    public IAsyncEnumerable<RecordedEvent> ReadAllAsync(
        GlobalCheckpoint checkpoint, int batchSize = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return _reader.ReadAllAsync(checkpoint, batchSize, cancellationToken);
    }

    /// <summary>Gets the current version of <paramref name="streamId"/>: the number of events it holds.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>The version, or <see langword="null"/> when the stream has no events.</returns>
    /// <exception cref="ArgumentException"><paramref name="streamId"/> is default.</exception>
    public Task<long?> GetStreamVersionAsync(StreamId streamId, CancellationToken cancellationToken = default)
    {
        StreamId.ThrowIfDefault(streamId, nameof(streamId));
        return _reader.GetStreamVersionAsync(streamId, cancellationToken);
    }

    /// <summary>
    /// Folds the events of <paramref name="streamId"/> into a state object on demand (a live projection): nothing is
    /// stored, and the result reflects every committed event of the stream (upcast to the current types; events of
    /// types declared obsolete are skipped).
    /// </summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <param name="streamId">The stream to fold.</param>
    /// <param name="seed">The state before the first event.</param>
    /// <param name="fold">Returns the state after an event, given the state before it.</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>The folded state; <paramref name="seed"/> when the stream has no events.</returns>
    /// <exception cref="ArgumentException"><paramref name="streamId"/> is default.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="fold"/> is null.</exception>
    /// <exception cref="EventDeserializationException">A stored event's type name is not registered, or its payload or metadata does not deserialize.</exception>
    public async Task<TState> AggregateStreamAsync<TState>(
        StreamId streamId, TState seed, Func<TState, RecordedEvent, TState> fold, CancellationToken cancellationToken = default)
    {
        StreamId.ThrowIfDefault(streamId, nameof(streamId));
        ArgumentNullException.ThrowIfNull(fold);
        var state = seed;
        await foreach (var e in _reader.ReadStreamAsync(streamId, 1, null, cancellationToken).ConfigureAwait(false))
        {
            state = e.IsObsolete ? state : fold(state, e); // events of obsolete types are skipped, as by aggregates and projections
        }

        return state;
    }

    /// <summary>Gets the context this event store belongs to (for provider packages).</summary>
    internal DbContext Context => _context;

    /// <summary>Gets the context's event sourcing options (for provider packages).</summary>
    internal EventSourcingOptionsExtension OptionsExtension => Options;

    private PendingAppend Stage(StreamId streamId, ExpectedVersion expectedVersion, IEnumerable<object> events)
    {
        StreamId.ThrowIfDefault(streamId, nameof(streamId));
        ArgumentNullException.ThrowIfNull(events);
        var prepared = EventPreparer.Prepare(Options, streamId, events);
        EventPreparer.ThrowIfVersionOverflows(streamId, expectedVersion.Version, prepared.Count, nameof(expectedVersion));
        var append = new PendingAppend(streamId, expectedVersion, prepared);
        _session.Stage(append);
        return append;
    }
}
