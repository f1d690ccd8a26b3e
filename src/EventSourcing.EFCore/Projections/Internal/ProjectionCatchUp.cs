using System.Collections.Concurrent;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// Runs a catch-up projection on one context, a batch at a time: read the events after its checkpoint with the gap-safe
/// read-all, apply them, and save the read-model changes and the new checkpoint in one SaveChanges (a fresh change
/// tracker per batch). On a relational database the batch runs in a transaction that locks the checkpoint row before
/// any read-model change, so of two runners of one projection the second waits, sees the moved checkpoint, discards
/// its batch and reads again (no deadlock, no double apply). On EF InMemory, which has no transactions, batches of one
/// projection are serialised in process and the checkpoint's concurrency tokens back that up.
/// </summary>
internal static class ProjectionCatchUp
{
    public const int DefaultBatchSize = 500;

    private const string LockSqlAnnotation = "EventSourcing:CheckpointLockSql";

    private static readonly ConcurrentDictionary<string, SemaphoreSlim> InProcessGates = new(StringComparer.Ordinal);

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
    public static async Task<BatchResult> RunBatchAsync(DbContext context, Projection projection, int batchSize, CancellationToken cancellationToken)
    {
        ThrowIfWrongContext(context, projection);
        if (!context.Database.IsRelational())
        {
            var gate = InProcessGates.GetOrAdd(projection.Name, static _ => new SemaphoreSlim(1, 1));
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await EnsureCheckpointAsync(context, projection.Name, cancellationToken).ConfigureAwait(false);
                return await RunBatchCoreAsync(context, projection, batchSize, lockRow: false, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        }

        await EnsureCheckpointAsync(context, projection.Name, cancellationToken).ConfigureAwait(false);
        if (context.Database.CurrentTransaction is not null)
        {
            // The caller's transaction: the row lock lasts until the caller commits.
            return await RunBatchCoreAsync(context, projection, batchSize, lockRow: true, cancellationToken).ConfigureAwait(false);
        }

        return await context.Database.CreateExecutionStrategy().ExecuteAsync(
            (Projection: projection, BatchSize: batchSize),
            static async (db, state, ct) =>
            {
                var transaction = await db.Database.BeginTransactionAsync(ct).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    var result = await RunBatchCoreAsync(db, state.Projection, state.BatchSize, lockRow: true, ct).ConfigureAwait(false);
                    await transaction.CommitAsync(ct).ConfigureAwait(false);
                    return result;
                }
            },
            verifySucceeded: null,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Clears the read model through the projection's reset hook and moves its checkpoint to the start, in one save.</summary>
    public static async Task ResetAsync(DbContext context, Projection projection, CancellationToken cancellationToken)
    {
        ThrowIfWrongContext(context, projection);
        if (!context.Database.IsRelational())
        {
            var gate = InProcessGates.GetOrAdd(projection.Name, static _ => new SemaphoreSlim(1, 1));
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await EnsureCheckpointAsync(context, projection.Name, cancellationToken).ConfigureAwait(false);
                await ResetCoreAsync(context, projection, lockRow: false, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }

            return;
        }

        await EnsureCheckpointAsync(context, projection.Name, cancellationToken).ConfigureAwait(false);
        if (context.Database.CurrentTransaction is not null)
        {
            await ResetCoreAsync(context, projection, lockRow: true, cancellationToken).ConfigureAwait(false);
            return;
        }

        await context.Database.CreateExecutionStrategy().ExecuteAsync(
            projection,
            static async (db, projection, ct) =>
            {
                var transaction = await db.Database.BeginTransactionAsync(ct).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    await ResetCoreAsync(db, projection, lockRow: true, ct).ConfigureAwait(false);
                    await transaction.CommitAsync(ct).ConfigureAwait(false);
                    return true;
                }
            },
            verifySucceeded: null,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the projection's checkpoint and how many committed events follow it, and the oldest one's age.</summary>
    public static async Task<ProjectionLag> GetLagAsync(DbContext context, string name, TimeProvider clock, CancellationToken cancellationToken)
    {
        var stored = await context.Set<ProjectionCheckpoint>()
            .AsNoTracking()
            .FirstOrDefaultAsync(c => c.Projection == name, cancellationToken)
            .ConfigureAwait(false);
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

    private static async Task<BatchResult> RunBatchCoreAsync(
        DbContext context, Projection projection, int batchSize, bool lockRow, CancellationToken cancellationToken)
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
            return new BatchResult(0, ReachedEnd: true);
        }

        var logger = EventSourcingLoggers.Of(context).Projections;
        var checkpoint = await LoadForUpdateAsync(context, name, lockRow, cancellationToken).ConfigureAwait(false);
        if (checkpoint.Position != from.Position || checkpoint.TransactionId != from.TransactionId)
        {
            logger.ProjectionRaceLost(name, from);
            context.ChangeTracker.Clear();
            return new BatchResult(0, ReachedEnd: false);
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
        checkpoint.UpdatedAt = Clock(context).GetUtcNow();
        try
        {
            await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateConcurrencyException ex) when (ex.Entries.Any(e => e.Entity is ProjectionCheckpoint))
        {
            logger.ProjectionRaceLost(name, from);
            context.ChangeTracker.Clear();
            return new BatchResult(0, ReachedEnd: false);
        }
        catch
        {
            context.ChangeTracker.Clear();
            throw;
        }

        context.ChangeTracker.Clear();
        logger.ProjectionBatchApplied(name, events.Count, last);
        return new BatchResult(events.Count, ReachedEnd: events.Count < batchSize);
    }

    private static async Task ResetCoreAsync(DbContext context, Projection projection, bool lockRow, CancellationToken cancellationToken)
    {
        context.ChangeTracker.Clear();
        try
        {
            var checkpoint = await LoadForUpdateAsync(context, projection.Name, lockRow, cancellationToken).ConfigureAwait(false);
            await projection.ResetReadModelAsync(context, cancellationToken).ConfigureAwait(false);
            checkpoint.Position = 0;
            checkpoint.TransactionId = 0;
            checkpoint.UpdatedAt = Clock(context).GetUtcNow();
            await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            context.ChangeTracker.Clear();
        }

        EventSourcingLoggers.Of(context).Projections.ProjectionReset(projection.Name);
    }

    /// <summary>Creates the projection's checkpoint row at the start of the store if it does not exist yet.</summary>
    private static async Task EnsureCheckpointAsync(DbContext context, string name, CancellationToken cancellationToken)
    {
        var checkpoints = context.Set<ProjectionCheckpoint>();
        if (await checkpoints.AsNoTracking().AnyAsync(c => c.Projection == name, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        context.ChangeTracker.Clear();
        var entry = checkpoints.Add(new ProjectionCheckpoint { Projection = name, UpdatedAt = Clock(context).GetUtcNow() });
        try
        {
            await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateException)
        {
            // Another runner created it first; anything else is a real failure.
            entry.State = EntityState.Detached;
            if (!await checkpoints.AsNoTracking().AnyAsync(c => c.Projection == name, cancellationToken).ConfigureAwait(false))
            {
                throw;
            }
        }
        finally
        {
            entry.State = EntityState.Detached;
        }
    }

    private static async Task<ProjectionCheckpoint> LoadForUpdateAsync(DbContext context, string name, bool lockRow, CancellationToken cancellationToken)
    {
        var checkpoints = context.Set<ProjectionCheckpoint>();
        if (!lockRow)
        {
            return await checkpoints.AsTracking().FirstAsync(c => c.Projection == name, cancellationToken).ConfigureAwait(false);
        }

        var rows = await checkpoints.FromSqlRaw(LockSql(context), name).AsTracking().ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.Single();
    }

    /// <summary>Returns <c>SELECT * FROM checkpoints WHERE projection = {0} FOR UPDATE</c> for the model's table names.</summary>
    private static string LockSql(DbContext context)
        => context.Model.GetOrAddRuntimeAnnotationValue(
            LockSqlAnnotation,
            static state =>
            {
                var (model, helper) = state;
                var entity = model.FindEntityType(typeof(ProjectionCheckpoint)) ?? throw new InvalidOperationException(Messages.EventStoreNotInModel);
                var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
                var key = entity.FindProperty(nameof(ProjectionCheckpoint.Projection))!.GetColumnName(table)!;
                return $"SELECT * FROM {helper.DelimitIdentifier(table.Name, table.Schema)} WHERE {helper.DelimitIdentifier(key)} = {{0}} FOR UPDATE";
            },
            (context.Model, context.GetService<ISqlGenerationHelper>()));

    private static TimeProvider Clock(DbContext context)
        => context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!.TimeProvider;

    private static void ThrowIfWrongContext(DbContext context, Projection projection)
    {
        if (!projection.ContextType.IsInstanceOfType(context))
        {
            throw new InvalidOperationException(Messages.ProjectionContextMismatch(projection.Name, projection.ContextType, context.GetType()));
        }
    }

    /// <summary>The outcome of one batch: events passed, and whether read-all had nothing more.</summary>
    public readonly record struct BatchResult(int Applied, bool ReachedEnd);
}
