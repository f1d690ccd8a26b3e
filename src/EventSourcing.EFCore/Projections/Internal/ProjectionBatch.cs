using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Serialization.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// One batch of a catch-up projection, run inside <see cref="IProjectionBackend.RunExclusiveAsync{T}"/>: read the events
/// of the types the projection handles after the committed checkpoint (other types are never read), apply them (the
/// handlers run before any lock is taken, so on PostgreSQL the batch holds no transaction id while they run), then take
/// hold of the checkpoint row and save the read-model changes, the dead letters and the new checkpoint in one SaveChanges
/// (a fresh change tracker per batch). A runner that finds the checkpoint row written since it read it discards its batch
/// and reads again. An event that fails stops the batch (<see cref="ProjectionErrorPolicy.Stop"/>) or is recorded as a
/// <see cref="ProjectionDeadLetter"/> (<see cref="ProjectionErrorPolicy.DeadLetter"/>): the batch is then applied again
/// from a clean change tracker without it, so none of its changes are saved.
/// </summary>
internal static class ProjectionBatch
{
    public static async Task<ProjectionBatchResult> RunAsync(
        DbContext context, Projection projection, int batchSize, TimeSpan horizonStallThreshold, CancellationToken cancellationToken)
    {
        var name = projection.Name;
        context.ChangeTracker.Clear();
        var stored = await context.Set<ProjectionCheckpoint>()
            .AsNoTracking()
            .FirstAsync(c => c.Projection == name, cancellationToken)
            .ConfigureAwait(false);
        var from = new GlobalCheckpoint(stored.TransactionId, stored.Position);
        var options = context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!;
        var backend = context.GetService<IProjectionBackend>();

        // Read before locking: on PostgreSQL a row lock gives the transaction an id, which would hold back its own
        // read-all horizon.
        var model = EventStoreModel.Get(context.Model);
        var cluster = await backend.VerifyTransactionIdsAsync(context, model, name, from, stored.SystemIdentifier, cancellationToken).ConfigureAwait(false);
        var types = ProjectionEventTypes.Of(projection, options.Registry, options.Upcasting);
        var page = await backend.ReadPageAsync(context, model, from, types, batchSize, cancellationToken).ConfigureAwait(false);
        if (!page.Full)
        {
            await ReadHorizonWatch.CheckAsync(context, backend, model, name, page.End, horizonStallThreshold, cancellationToken).ConfigureAwait(false);
        }

        if (page.End == from)
        {
            return new ProjectionBatchResult(0, ReachedEnd: true);
        }

        // The handlers run first, with no lock taken: on PostgreSQL the transaction has no id while they run, so it does
        // not hold back the read-all horizon of other readers. The checkpoint row is locked in the short write phase below.
        var logger = EventSourcingLoggers.Of(context).Projections;
        var events = new List<RecordedEvent>(page.Rows.Count);
        var failed = new Dictionary<long, (EventRow Row, Exception Error)>();
        foreach (var row in page.Rows)
        {
            try
            {
                events.Add(StoredEventDecoder.Event(options, row));
            }
            catch (EventDeserializationException ex)
            {
                if (projection.ErrorPolicy == ProjectionErrorPolicy.Stop)
                {
                    context.ChangeTracker.Clear();
                    throw new ProjectionFailedException(name, row.Event.EventId, from, ex);
                }

                failed.Add(row.Event.GlobalPosition, (row, ex));
            }
        }

        CatchUpTelemetry.Describe(from, page.End, events);
        while (await ApplyAsync(context, projection, events, failed, from, cancellationToken).ConfigureAwait(false) is { } failure)
        {
            context.ChangeTracker.Clear();
            if (projection.ErrorPolicy == ProjectionErrorPolicy.Stop)
            {
                throw new ProjectionFailedException(name, failure.Event, from, failure.Error);
            }

            var row = page.Rows.First(r => r.Event.GlobalPosition == failure.Event.GlobalPosition);
            failed.Add(row.Event.GlobalPosition, (row, failure.Error));
        }

        // Write phase: lock the checkpoint row and check that nobody moved it (or reset, rebased or replayed the projection,
        // which all write it) since it was read; if somebody did, the batch is discarded and read again.
        var checkpoint = await backend.LoadCheckpointForUpdateAsync(context, name, cancellationToken).ConfigureAwait(false);
        if (checkpoint.Position != stored.Position || checkpoint.TransactionId != stored.TransactionId || checkpoint.UpdatedAt != stored.UpdatedAt)
        {
            logger.ProjectionRaceLost(name, from);
            context.ChangeTracker.Clear();
            return new ProjectionBatchResult(0, ReachedEnd: false);
        }

        var now = ProjectionCheckpoints.Clock(context).GetUtcNow();
        foreach (var (row, error) in failed.Values)
        {
            context.Add(ProjectionDeadLetters.Create(name, row, error, now));
        }

        checkpoint.Position = page.End.Position;
        checkpoint.TransactionId = page.End.TransactionId;
        checkpoint.SystemIdentifier = cluster;
        checkpoint.UpdatedAt = now;
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
        finally
        {
            context.ChangeTracker.Clear();
        }

        CatchUpTelemetry.DeadLettered(context, name, failed.Count);
        foreach (var (row, error) in failed.Values)
        {
            var e = row.Event;
            logger.ProjectionEventDeadLettered(error, name, new StreamId(e.StreamType, e.StreamId), e.Sequence, e.EventType, e.GlobalPosition);
        }

        logger.ProjectionBatchApplied(name, page.Rows.Count, page.End);
        return new ProjectionBatchResult(page.Rows.Count, ReachedEnd: !page.Full);
    }

    /// <summary>
    /// Applies <paramref name="events"/> but those in <paramref name="skipped"/>, after the projection's prefetch hook
    /// (<see cref="ProjectionPrefetch"/>); returns the first failure, if any. EF's automatic change detection is off while
    /// the hook and the handlers run (a handler's <c>Local</c> or <c>Entry</c> call would otherwise scan every tracked row,
    /// once per event); the SaveChanges that follows detects the changes once.
    /// </summary>
    internal static async Task<(RecordedEvent Event, Exception Error)?> ApplyAsync<TValue>(
        DbContext context, Projection projection, List<RecordedEvent> events, Dictionary<long, TValue> skipped, GlobalCheckpoint checkpoint,
        CancellationToken cancellationToken)
    {
        var batch = new List<RecordedEvent>(events.Count);
        foreach (var e in events)
        {
            if (!skipped.ContainsKey(e.GlobalPosition) && projection.Handles(e.Data.GetType()))
            {
                batch.Add(e);
            }
        }

        var tracker = context.ChangeTracker;
        var autoDetect = tracker.AutoDetectChangesEnabled;
        tracker.AutoDetectChangesEnabled = false;
        try
        {
            try
            {
                await ProjectionPrefetch.RunAsync(context, projection, batch, checkpoint, cancellationToken).ConfigureAwait(false);
            }
            catch (ProjectionFailedException)
            {
                tracker.Clear(); // the batch fails as a whole: nothing the hook loaded or changed stays tracked
                throw;
            }

            foreach (var e in batch)
            {
                try
                {
                    await projection.ApplyAsync(context, e, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Handed to the projection's error policy: raised as ProjectionFailedException, or recorded as a dead letter.
                    return (e, ex);
                }
            }
        }
        finally
        {
            tracker.AutoDetectChangesEnabled = autoDetect;
        }

        return null;
    }
}

/// <summary>The outcome of one batch: events of handled types passed, and whether read-all had nothing more.</summary>
internal readonly record struct ProjectionBatchResult(int Applied, bool ReachedEnd);
