using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Serialization.Internal;
using EventSourcing.EFCore.Snapshots.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace EventSourcing.EFCore.Aggregates.Internal;

/// <summary>
/// Loads one aggregate of <typeparamref name="TAggregate"/>: the newest snapshot that still fits (when the type can be
/// snapshotted and the load is not by timestamp) and the events after it, read by the backend in one go
/// (<see cref="IEventStoreBackend.LoadAsync"/>); each event is deserialized and applied as it is read. Gaps are
/// reported as corruption. A snapshot the backend already skipped the events of, but that turns out not to fit
/// (its JSON does not deserialize), is followed by a full replay.
/// </summary>
/// <typeparam name="TAggregate">The aggregate type.</typeparam>
internal sealed class AggregateLoad<TAggregate> : StreamLoad
    where TAggregate : class, IEventSourcedAggregate
{
    private static readonly Func<TAggregate> Create = AggregateFactory.For<TAggregate>();

    private readonly DbContext _context;
    private readonly EventSourcingOptionsExtension _options;
    private readonly DateTimeOffset? _asOf;
    private CurrentEventTypes? _currentTypes; // made at the first event (a load of a snapshot only needs none)
    private TAggregate? _aggregate;
    private IRehydratable? _rehydratable;
    private long _next = 1;
    private long _replayed;
    private long? _snapshotVersion;
    private bool _snapshotIgnored;

    private AggregateLoad(DbContext context, EventSourcingOptionsExtension options, StreamId streamId, long toVersion, DateTimeOffset? asOf)
        : base(streamId, toVersion, asOf is null ? SnapshotReader.ExpectationOf(typeof(TAggregate)) : null)
    {
        _context = context;
        _options = options;
        _asOf = asOf;
    }

    /// <summary>
    /// Loads the aggregate of <paramref name="streamId"/> up to <paramref name="toVersion"/> (null: its end), or as of
    /// <paramref name="asOf"/> (a timestamp does not say which version it falls on, so such loads replay from the start).
    /// </summary>
    /// <returns>The aggregate (null when the stream has no events in range), and whether a stored snapshot was ignored.</returns>
    public static async Task<(TAggregate? Aggregate, bool SnapshotIgnored)> RunAsync(
        DbContext context, StreamId streamId, long? toVersion, DateTimeOffset? asOf, CancellationToken cancellationToken)
    {
        using var telemetry = LoadTelemetry.Start(context, streamId);
        var options = context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!;
        var load = new AggregateLoad<TAggregate>(context, options, streamId, toVersion ?? long.MaxValue, asOf);
        var backend = context.GetService<IEventStoreBackend>();
        var model = EventStoreModel.Get(context.Model);
        await backend.LoadAsync(context, model, load, cancellationToken).ConfigureAwait(false);
        if (asOf is null)
        {
            telemetry?.Snapshot(load._snapshotVersion, load.Snapshot is not null);
        }

        if (load._aggregate is { } aggregate && aggregate.StreamId != streamId)
        {
            throw new EventStoreCorruptionException(streamId, null, Messages.AggregateStreamMismatch(typeof(TAggregate), streamId, aggregate.StreamId));
        }

        telemetry?.Complete(load._replayed);
        return (load._aggregate, load._snapshotIgnored);
    }

    public override long OnSnapshot(SnapshotRow row)
    {
        var logger = EventSourcingLoggers.Of(_context).Snapshots;
        if (SnapshotReader.Restore(typeof(TAggregate), StreamId, row, _options, logger) is not TAggregate restored)
        {
            _snapshotIgnored = true;
            return _next = 1;
        }

        _aggregate = restored;
        _rehydratable = (IRehydratable)restored;
        _snapshotVersion = row.Version;
        return _next = row.Version + 1;
    }

    public override bool OnEvent(ReplayRow row)
    {
        if (row.Sequence != _next)
        {
            throw new EventStoreCorruptionException(StreamId, row.GlobalPosition, Messages.StreamGap(StreamId, _next, row.Sequence));
        }

        if (_asOf is { } until && row.CreatedAt.ToUniversalTime() > until)
        {
            return false;
        }

        // A UTF-8 payload of a current type (the common case) is deserialized straight from its bytes; anything else
        // (JSON text, aliases, older versions, obsolete or unknown names) takes the decoder's full path.
        var data = row.Payload is null && (_currentTypes ??= new CurrentEventTypes(_options)).Find(row.EventType, row.EventVersion) is { } clrType
            ? StoredEventDecoder.Data(_options, StreamId, row.Sequence, row.GlobalPosition, row.EventType, clrType, row.Utf8Payload.Span)
            : Decode(row);
        _next++;
        if (_rehydratable is null)
        {
            _aggregate = Create();
            _rehydratable = _aggregate as IRehydratable ?? throw new InvalidOperationException(Messages.NotRehydratable(typeof(TAggregate)));
        }

        _replayed++;
        if (data is ObsoleteEvent)
        {
            EventSourcingLoggers.Of(_context).Streams.ObsoleteEventRead(StreamId, row.Sequence, row.EventType, row.EventVersion);
            _rehydratable.RestoreVersion(row.Sequence); // declared obsolete: skipped, but it holds its version
            return true;
        }

        _rehydratable.Replay(data);
        return true;
    }

    private object Decode(ReplayRow row)
        => (row.Payload is { } json
            ? StoredEventDecoder.Data(_options, StreamId, row.Sequence, row.GlobalPosition, row.EventType, row.EventVersion, json)
            : StoredEventDecoder.Data(_options, StreamId, row.Sequence, row.GlobalPosition, row.EventType, row.EventVersion, row.Utf8Payload.Span)).Data;
}
