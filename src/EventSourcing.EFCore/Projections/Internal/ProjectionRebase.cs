using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// Moves a projection's checkpoint to just after the event stored at a global position, taking that event's stored
/// transaction id (run inside <see cref="IProjectionBackend.RunExclusiveAsync{T}"/>): the step of the rebase procedure
/// after a restore into another cluster, once the events' transaction ids were rewritten.
/// </summary>
internal static class ProjectionRebase
{
    public static async Task<GlobalCheckpoint> RunAsync(DbContext context, Projection projection, long globalPosition, CancellationToken cancellationToken)
    {
        var name = projection.Name;
        context.ChangeTracker.Clear();
        var target = GlobalCheckpoint.Start;
        if (globalPosition > 0)
        {
            var model = EventStoreModel.Get(context.Model);
            var events = context.Set<StoredEvent>().AsNoTracking().Where(e => e.GlobalPosition == globalPosition);
            var transactionIds = model.Events.FindProperty(EventStoreModel.TransactionIdProperty) is null
                ? await events.Select(e => (ulong?)0).ToListAsync(cancellationToken).ConfigureAwait(false)
                : await events.Select(e => (ulong?)EF.Property<ulong>(e, EventStoreModel.TransactionIdProperty)).ToListAsync(cancellationToken).ConfigureAwait(false);
            if (transactionIds.Count == 0)
            {
                throw new InvalidOperationException(Messages.RebasePositionNotFound(name, globalPosition));
            }

            target = new GlobalCheckpoint(transactionIds[0]!.Value, globalPosition);
        }

        try
        {
            var backend = context.GetService<IProjectionBackend>();
            var cluster = await backend.ReadSystemIdentifierAsync(context, cancellationToken).ConfigureAwait(false);
            var checkpoint = await backend.LoadCheckpointForUpdateAsync(context, name, cancellationToken).ConfigureAwait(false);
            checkpoint.Position = target.Position;
            checkpoint.TransactionId = target.TransactionId;
            checkpoint.SystemIdentifier = cluster;
            checkpoint.UpdatedAt = ProjectionCheckpoints.Clock(context).GetUtcNow();
            await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            context.ChangeTracker.Clear();
        }

        EventSourcingLoggers.Of(context).Projections.ProjectionCheckpointRebased(name, target);
        return target;
    }
}
