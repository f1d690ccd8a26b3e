using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// The backend for providers that enforce no unique index (EF InMemory): appends are checked and positions assigned
/// under <see cref="InProcessAppendGuard"/>, so commit order equals position order and read-all is by position.
/// </summary>
internal sealed class InMemoryEventStoreBackend : IEventStoreBackend
{
    public bool EnforcesUniqueIndexes => false;

    public bool IsEventStoreConflict(DbUpdateException exception, EventStoreModel model) => false;

    public StoreState ReadAfterFailure(DbContext context, EventStoreModel model, IReadOnlyCollection<StreamId> streams, IReadOnlyCollection<Guid> eventIds)
        => new(StoreProbe.ReadVersions(context, streams), StoreProbe.ReadLocations(context, eventIds));

    public async Task<StoreState> ReadAfterFailureAsync(
        DbContext context, EventStoreModel model, IReadOnlyCollection<StreamId> streams, IReadOnlyCollection<Guid> eventIds, CancellationToken cancellationToken)
        => new(
            await StoreProbe.ReadVersionsAsync(context, streams, cancellationToken).ConfigureAwait(false),
            await StoreProbe.ReadLocationsAsync(context, eventIds, cancellationToken).ConfigureAwait(false));

    public async Task ReadAllPageAsync(
        DbContext context, EventStoreModel model, GlobalCheckpoint after, int batchSize, ReadAllPage page, CancellationToken cancellationToken)
    {
        var position = after.Position;
        var rows = await context.Set<StoredEvent>()
            .AsNoTracking()
            .Where(e => e.GlobalPosition > position)
            .OrderBy(e => e.GlobalPosition)
            .Take(batchSize)
            .ToListAsync(cancellationToken)
            .ConfigureAwait(false);
        foreach (var e in rows)
        {
            page.Add(new ReadAllRow
            {
                GlobalPosition = e.GlobalPosition,
                TransactionId = 0,
                StreamType = e.StreamType,
                StreamId = e.StreamId,
                Sequence = e.Sequence,
                EventId = e.EventId,
                EventType = e.EventType,
                EventVersion = e.EventVersion,
                Payload = e.Payload,
                Metadata = e.Metadata,
                CreatedAt = e.CreatedAt,
            });
        }
    }
}
