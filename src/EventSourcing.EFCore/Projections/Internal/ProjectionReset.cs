using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// Clears a projection's read model through its reset hook, removes its dead letters and moves its checkpoint to the
/// start, in one save, run
/// inside <see cref="IProjectionBackend.RunExclusiveAsync{T}"/>.
/// </summary>
internal static class ProjectionReset
{
    public static async Task<bool> RunAsync(DbContext context, Projection projection, CancellationToken cancellationToken)
    {
        context.ChangeTracker.Clear();
        try
        {
            var checkpoint = await context.GetService<IProjectionBackend>()
                .LoadCheckpointForUpdateAsync(context, projection.Name, cancellationToken).ConfigureAwait(false);
            await projection.ResetReadModelAsync(context, cancellationToken).ConfigureAwait(false);
            await ProjectionDeadLetters.RemoveAllAsync(context, projection.Name, cancellationToken).ConfigureAwait(false);
            checkpoint.Position = 0;
            checkpoint.TransactionId = 0;
            checkpoint.SystemIdentifier = null; // the start means the same in every cluster
            checkpoint.UpdatedAt = ProjectionCheckpoints.Clock(context).GetUtcNow();
            await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            context.ChangeTracker.Clear();
        }

        EventSourcingLoggers.Of(context).Projections.ProjectionReset(projection.Name);
        return true;
    }
}
