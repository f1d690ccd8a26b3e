using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>Reads how far a catch-up projection is behind the store: events after its checkpoint and the oldest one's age.</summary>
internal static class ProjectionLagReader
{
    public static async Task<ProjectionLag> ReadAsync(DbContext context, string name, TimeProvider clock, CancellationToken cancellationToken)
    {
        var stored = await ProjectionCheckpoints.FindAsync(context, name, cancellationToken).ConfigureAwait(false);
        var checkpoint = stored is null ? GlobalCheckpoint.Start : new GlobalCheckpoint(stored.TransactionId, stored.Position);
        var behind = After(context, checkpoint);
        var count = await behind.LongCountAsync(cancellationToken).ConfigureAwait(false);
        var time = TimeSpan.Zero;
        if (count > 0 && await behind.MinAsync(e => (DateTimeOffset?)e.CreatedAt, cancellationToken).ConfigureAwait(false) is { } oldest)
        {
            time = clock.GetUtcNow() - oldest;
            if (time < TimeSpan.Zero)
            {
                time = TimeSpan.Zero;
            }
        }

        return new ProjectionLag(name, checkpoint, count, time, stored?.UpdatedAt);
    }

    private static IQueryable<StoredEvent> After(DbContext context, GlobalCheckpoint checkpoint)
    {
        var model = EventStoreModel.Get(context.Model);
        var events = context.Set<StoredEvent>().AsNoTracking();
        var position = checkpoint.Position;
        if (model.Events.FindProperty(EventStoreModel.TransactionIdProperty) is null)
        {
            return events.Where(e => e.GlobalPosition > position);
        }

        var transactionId = checkpoint.TransactionId;
        return events.Where(e => EF.Property<ulong>(e, EventStoreModel.TransactionIdProperty) > transactionId
                                 || (EF.Property<ulong>(e, EventStoreModel.TransactionIdProperty) == transactionId && e.GlobalPosition > position));
    }
}
