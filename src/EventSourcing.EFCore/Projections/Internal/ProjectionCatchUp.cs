using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// Runs a catch-up projection on one context: batches (<see cref="ProjectionBatch"/>) and resets
/// (<see cref="ProjectionReset"/>), each as one unit of the database backend (<see cref="IProjectionBackend"/>), which
/// keeps two runners of one projection from applying an event twice.
/// </summary>
internal static class ProjectionCatchUp
{
    public const int DefaultBatchSize = 500;

    /// <summary>Runs batches until the projection has applied every event read-all returns now; returns how many it passed.</summary>
    public static async Task<long> CatchUpAsync(DbContext context, Projection projection, int batchSize, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            var batch = await RunBatchAsync(context, projection, batchSize, cancellationToken).ConfigureAwait(false);
            total += batch.Applied;
            if (batch.ReachedEnd)
            {
                return total;
            }
        }
    }

    /// <summary>Reads, applies and commits at most one batch.</summary>
    /// <param name="context">The context the batch runs on.</param>
    /// <param name="projection">The projection.</param>
    /// <param name="batchSize">The most events applied.</param>
    /// <param name="cancellationToken">A token to cancel the batch.</param>
    /// <param name="horizonStallThreshold">
    /// How long a transaction may hold read-all back before the batch logs it (<see cref="ProjectionHostOptions.ReadHorizonStallThreshold"/>);
    /// null for the default.
    /// </param>
    public static Task<ProjectionBatchResult> RunBatchAsync(
        DbContext context, Projection projection, int batchSize, CancellationToken cancellationToken, TimeSpan? horizonStallThreshold = null)
    {
        ThrowIfWrongContext(context, projection);
        var threshold = horizonStallThreshold ?? ProjectionHostOptions.DefaultReadHorizonStallThreshold;
        return context.GetService<IProjectionBackend>().RunExclusiveAsync(
            context, projection, (db, ct) => CatchUpTelemetry.RunAsync(db, projection, () => ProjectionBatch.RunAsync(db, projection, batchSize, threshold, ct), ct), cancellationToken);
    }

    /// <summary>Clears the read model through the projection's reset hook and moves its checkpoint to the start, in one save.</summary>
    public static Task ResetAsync(DbContext context, Projection projection, CancellationToken cancellationToken)
    {
        ThrowIfWrongContext(context, projection);
        return context.GetService<IProjectionBackend>().RunExclusiveAsync(
            context, projection, (db, ct) => ProjectionReset.RunAsync(db, projection, ct), cancellationToken);
    }

    /// <summary>Applies the projection's dead letters again (see <see cref="ProjectionDeadLetters.ReplayAsync"/>).</summary>
    public static Task<int> ReplayDeadLettersAsync(DbContext context, Projection projection, CancellationToken cancellationToken)
    {
        ThrowIfWrongContext(context, projection);
        return context.GetService<IProjectionBackend>().RunExclusiveAsync(
            context, projection, (db, ct) => ProjectionDeadLetters.ReplayAsync(db, projection, ct), cancellationToken);
    }

    /// <summary>Moves the projection's checkpoint to after the event at a global position (see <see cref="ProjectionRebase"/>).</summary>
    public static Task<GlobalCheckpoint> RebaseAsync(DbContext context, Projection projection, long globalPosition, CancellationToken cancellationToken)
    {
        ThrowIfWrongContext(context, projection);
        return context.GetService<IProjectionBackend>().RunExclusiveAsync(
            context, projection, (db, ct) => ProjectionRebase.RunAsync(db, projection, globalPosition, ct), cancellationToken);
    }

    private static void ThrowIfWrongContext(DbContext context, Projection projection)
    {
        if (!projection.ContextType.IsInstanceOfType(context))
        {
            throw new InvalidOperationException(Messages.ProjectionContextMismatch(projection.Name, projection.ContextType, context.GetType()));
        }
    }
}
