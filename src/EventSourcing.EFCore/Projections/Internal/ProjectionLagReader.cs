using EventSourcing.EFCore.Serialization.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// Reads how far a catch-up projection is behind the store: the events of the types it handles after its checkpoint, the
/// oldest one's age, and how many events it dead-lettered.
/// </summary>
internal static class ProjectionLagReader
{
    public static async Task<ProjectionLag> ReadAsync(
        DbContext context, Projection projection, EventTypeRegistry registry, EventUpcasting upcasting, TimeProvider clock, CancellationToken cancellationToken)
    {
        var name = projection.Name;
        var stored = await ProjectionCheckpoints.FindAsync(context, name, cancellationToken).ConfigureAwait(false);
        var checkpoint = stored is null ? GlobalCheckpoint.Start : new GlobalCheckpoint(stored.TransactionId, stored.Position);
        var backend = context.GetService<IProjectionBackend>();
        var model = EventStoreModel.Get(context.Model);
        await backend.VerifyTransactionIdsAsync(context, model, name, checkpoint, stored?.SystemIdentifier, cancellationToken).ConfigureAwait(false);
        var types = ProjectionEventTypes.Of(projection, registry, upcasting);
        var behind = After(context, checkpoint).Where(e => types.Contains(e.EventType));
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

        var deadLetters = await context.Set<ProjectionDeadLetter>().LongCountAsync(d => d.Projection == name, cancellationToken).ConfigureAwait(false);
        var holder = count > 0 ? await backend.FindHorizonHolderAsync(context, model, checkpoint, cancellationToken).ConfigureAwait(false) : null;
        return new ProjectionLag(name, checkpoint, count, time, stored?.UpdatedAt) { DeadLetters = deadLetters, HeldBackBy = holder };
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
