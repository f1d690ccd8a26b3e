using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// One batch of a catch-up projection, run inside <see cref="IProjectionBackend.RunExclusiveAsync{T}"/>: read the events
/// after the committed checkpoint, take hold of the checkpoint row, apply the events and save the read-model changes and
/// the new checkpoint in one SaveChanges (a fresh change tracker per batch). A runner that finds the checkpoint moved
/// discards its batch and reads again.
/// </summary>
internal static class ProjectionBatch
{
    public static async Task<ProjectionBatchResult> RunAsync(DbContext context, Projection projection, int batchSize, CancellationToken cancellationToken)
    {
        var name = projection.Name;
        context.ChangeTracker.Clear();
        var stored = await context.Set<ProjectionCheckpoint>()
            .AsNoTracking()
            .FirstAsync(c => c.Projection == name, cancellationToken)
            .ConfigureAwait(false);
        var from = new GlobalCheckpoint(stored.TransactionId, stored.Position);

        // Read before locking: on PostgreSQL a row lock gives the transaction an id, which would hold back its own
        // read-all horizon.
        var events = new List<RecordedEvent>(Math.Min(batchSize, 1024));
        await foreach (var e in context.Events().ReadAllAsync(from, batchSize, cancellationToken).ConfigureAwait(false))
        {
            events.Add(e);
            if (events.Count == batchSize)
            {
                break;
            }
        }

        if (events.Count == 0)
        {
            return new ProjectionBatchResult(0, ReachedEnd: true);
        }

        var logger = EventSourcingLoggers.Of(context).Projections;
        var checkpoint = await context.GetService<IProjectionBackend>().LoadCheckpointForUpdateAsync(context, name, cancellationToken).ConfigureAwait(false);
        if (checkpoint.Position != from.Position || checkpoint.TransactionId != from.TransactionId)
        {
            logger.ProjectionRaceLost(name, from);
            context.ChangeTracker.Clear();
            return new ProjectionBatchResult(0, ReachedEnd: false);
        }

        foreach (var e in events)
        {
            if (!projection.Handles(e.Data.GetType()))
            {
                continue;
            }

            try
            {
                await projection.ApplyAsync(context, e, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                context.ChangeTracker.Clear();
                throw new ProjectionFailedException(name, e, from, ex);
            }
        }

        var last = events[^1].Checkpoint;
        checkpoint.Position = last.Position;
        checkpoint.TransactionId = last.TransactionId;
        checkpoint.UpdatedAt = ProjectionCheckpoints.Clock(context).GetUtcNow();
        try
        {
            await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateConcurrencyException ex) when (ex.Entries.Any(e => e.Entity is ProjectionCheckpoint))
        {
            logger.ProjectionRaceLost(name, from);
            context.ChangeTracker.Clear();
            return new ProjectionBatchResult(0, ReachedEnd: false);
        }
        catch
        {
            context.ChangeTracker.Clear();
            throw;
        }

        context.ChangeTracker.Clear();
        logger.ProjectionBatchApplied(name, events.Count, last);
        return new ProjectionBatchResult(events.Count, ReachedEnd: events.Count < batchSize);
    }
}

/// <summary>The outcome of one batch: events passed, and whether read-all had nothing more.</summary>
internal readonly record struct ProjectionBatchResult(int Applied, bool ReachedEnd);
