using System.Data.Common;
using EventSourcing.EFCore.Aggregates.Internal;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.OutboxInternal;
using EventSourcing.EFCore.Projections.Internal;
using EventSourcing.EFCore.Snapshots.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// Turns a context's staged batches into event rows inside its SaveChanges, and settles them when the save's outcome
/// is known: success completes and unstages the batches; failure removes the rows (so a retry writes each event once)
/// and, for an event store conflict, raises the library's typed exception.
/// </summary>
internal sealed class AppendWriter(
    EventStoreSession session, IEventStoreBackend backend, EventSourcingLoggers loggers, IDbContextOptions options)
{
    private readonly EventSourcingOptionsExtension _options = options.FindExtension<EventSourcingOptionsExtension>()!;
    private IReadOnlyList<SnapshotCandidate> _prune = [];

    public void BeforeSave(DbContext context)
    {
        Discard();
        var batches = AggregateDrain.Collect(context, session);
        if (batches.Count == 0 && session.SnapshotRequests.Count == 0)
        {
            return;
        }

        EventStoreModel.Get(context.Model); // throws when IncludeEventStore() was not called
        var guard = backend.EnforcesUniqueIndexes ? null : InProcessAppendGuard.Enter();
        try
        {
            var plan = AppendPlan.Create(batches, StoreProbe.ReadVersions(context, AppendPlan.StreamsToRead(batches, all: guard is not null)));
            if (guard is not null || plan.HasKnownConflict)
            {
                var conflict = AppendConflictClassifier.Classify(
                    batches,
                    guard is not null ? ReadKnown(plan) : StoreProbe.ReadVersions(context, Streams(batches)),
                    StoreProbe.ReadLocations(context, EventIds(batches)),
                    innerException: null);
                ThrowIfConflict(conflict, plan);
            }

            var snapshots = SnapshotWriter.Plan(_options, plan, session);
            var staged = snapshots.Count == 0
                ? ([], [])
                : SnapshotWriter.Stage(context, snapshots, StoreProbe.ReadSnapshotVersions(context, Streams(snapshots)), _options, guard is not null);
            Stage(context, plan, guard, snapshots, staged);
            ApplyInlineProjections(context);
        }
        catch
        {
            guard?.Dispose();
            throw;
        }
    }

    public async Task BeforeSaveAsync(DbContext context, CancellationToken cancellationToken)
    {
        Discard();
        var batches = AggregateDrain.Collect(context, session);
        if (batches.Count == 0 && session.SnapshotRequests.Count == 0)
        {
            return;
        }

        EventStoreModel.Get(context.Model); // throws when IncludeEventStore() was not called
        var guard = backend.EnforcesUniqueIndexes ? null : await InProcessAppendGuard.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var toRead = AppendPlan.StreamsToRead(batches, all: guard is not null);
            var plan = AppendPlan.Create(batches, await StoreProbe.ReadVersionsAsync(context, toRead, cancellationToken).ConfigureAwait(false));
            if (guard is not null || plan.HasKnownConflict)
            {
                var conflict = AppendConflictClassifier.Classify(
                    batches,
                    guard is not null ? ReadKnown(plan) : await StoreProbe.ReadVersionsAsync(context, Streams(batches), cancellationToken).ConfigureAwait(false),
                    await StoreProbe.ReadLocationsAsync(context, EventIds(batches), cancellationToken).ConfigureAwait(false),
                    innerException: null);
                ThrowIfConflict(conflict, plan);
            }

            var snapshots = SnapshotWriter.Plan(_options, plan, session);
            var staged = snapshots.Count == 0
                ? ([], [])
                : SnapshotWriter.Stage(
                    context,
                    snapshots,
                    await StoreProbe.ReadSnapshotVersionsAsync(context, Streams(snapshots), cancellationToken).ConfigureAwait(false),
                    _options,
                    guard is not null);
            Stage(context, plan, guard, snapshots, staged);
            await ApplyInlineProjectionsAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            guard?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Completes and unstages the saved batches and stops tracking their rows. Returns the number of event rows written
    /// without being tracked (carried), for SaveChanges to count them as EF counts tracked rows.
    /// </summary>
    public int AfterSave(DbContext context)
    {
        if (session.InProgress is not { } save)
        {
            return 0;
        }

        session.InProgress = null;
        save.ReleaseGuard();
        Detach(save.Entries);
        var plan = save.Plan;
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            var batch = plan.Batches[i];
            batch.Complete(plan.ResultVersions[i]);
            session.Unstage(batch);
            batch.Source?.OnEventsSaved(plan.ResultVersions[i]);
            if (batch.Events.Count > 0)
            {
                loggers.Streams.EventsAppended(batch.StreamId, plan.FirstVersions[i], plan.ResultVersions[i]);
            }
        }

        foreach (var snapshot in save.Snapshots)
        {
            session.SnapshotRequests.Remove(snapshot.Aggregate);
            loggers.Snapshots.SnapshotTaken(snapshot.StreamId, snapshot.Version);
        }

        _prune = save.PruneAfterSave;
        return save.CarriedRows;
    }

    /// <summary>
    /// Deletes the snapshots the last successful save superseded. Runs only outside a user transaction, as a statement of
    /// its own: a failure is logged and changes nothing else (the rows are pruned by a later snapshot of the stream).
    /// </summary>
    public void PruneSnapshots(DbContext context)
    {
        foreach (var snapshot in TakePrune(context))
        {
            try
            {
                SnapshotWriter.Older(context, snapshot).ExecuteDelete();
            }
            catch (DbException ex)
            {
                loggers.Snapshots.SnapshotPruneFailed(snapshot.StreamId, ex);
            }
        }
    }

    /// <inheritdoc cref="PruneSnapshots"/>
    public async Task PruneSnapshotsAsync(DbContext context)
    {
        foreach (var snapshot in TakePrune(context))
        {
            try
            {
                await SnapshotWriter.Older(context, snapshot).ExecuteDeleteAsync(CancellationToken.None).ConfigureAwait(false); // the save succeeded: do not turn it into a cancellation
            }
            catch (DbException ex)
            {
                loggers.Snapshots.SnapshotPruneFailed(snapshot.StreamId, ex);
            }
        }
    }

    private IReadOnlyList<SnapshotCandidate> TakePrune(DbContext context)
    {
        var prune = _prune;
        _prune = [];
        return context.Database.CurrentTransaction is null ? prune : [];
    }

    /// <summary>Releases the in-process guard without touching the change tracker (EF may still be inside its batch).</summary>
    public void ReleaseGuard() => session.InProgress?.ReleaseGuard();

    /// <summary>Settles a failed or cancelled save: its rows are removed, its batches stay staged.</summary>
    public SaveInProgress? Abandon()
    {
        var save = session.InProgress;
        Discard();
        return save;
    }

    /// <summary>Settles a failed save and returns the typed exception to raise instead, or null.</summary>
    public Exception? Fail(DbContext context, Exception exception)
    {
        var save = Abandon();
        if (save is null || exception is not DbUpdateException update || !IsStoreConflict(update, context) || save.Plan.Batches.Count == 0)
        {
            return null;
        }

        var batches = save.Plan.Batches;
        var state = backend.ReadAfterFailure(context, EventStoreModel.Get(context.Model), Streams(batches), EventIds(batches));
        return Logged(AppendConflictClassifier.Classify(batches, state.Versions, state.Locations, update) ?? Fallback(save, update, state.Versions));
    }

    /// <summary>Settles a failed save and returns the typed exception to raise instead, or null.</summary>
    public async Task<Exception?> FailAsync(DbContext context, Exception exception, CancellationToken cancellationToken)
    {
        var save = Abandon();
        if (save is null || exception is not DbUpdateException update || !IsStoreConflict(update, context) || save.Plan.Batches.Count == 0)
        {
            return null;
        }

        var batches = save.Plan.Batches;
        var state = await backend.ReadAfterFailureAsync(context, EventStoreModel.Get(context.Model), Streams(batches), EventIds(batches), cancellationToken)
            .ConfigureAwait(false);
        return Logged(AppendConflictClassifier.Classify(batches, state.Versions, state.Locations, update) ?? Fallback(save, update, state.Versions));
    }

    private void Stage(
        DbContext context,
        AppendPlan plan,
        IDisposable? guard,
        IReadOnlyList<SnapshotCandidate> snapshots,
        (List<EntityEntry> Entries, List<SnapshotCandidate> PruneAfterSave) staged)
    {
        var entries = staged.Entries;
        var set = context.Set<StoredEvent>();
        var rows = new List<StoredEvent>();
        var restores = new List<Action>();
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            var batch = plan.Batches[i];
            if (batch.SourceEntry?.Metadata.FindProperty(nameof(IEventSourcedAggregate.Version)) is { ClrType: var type } property && type == typeof(long))
            {
                // An EF entity that maps its Version: write the new version in this same save (the interceptor runs
                // before DetectChanges), and put the old one back if the save fails.
                var versionEntry = batch.SourceEntry.Property(property);
                var old = versionEntry.CurrentValue;
                versionEntry.CurrentValue = plan.ResultVersions[i];
                restores.Add(() => versionEntry.CurrentValue = old);
            }

            var version = plan.FirstVersions[i];
            foreach (var e in batch.Events)
            {
                rows.Add(new StoredEvent
                {
                    StreamType = batch.StreamId.Type,
                    StreamId = batch.StreamId.Id,
                    Sequence = version++,
                    EventId = e.EventId,
                    EventType = e.EventType,
                    EventVersion = e.EventTypeVersion,
                    Payload = e.Payload,
                    Metadata = e.Metadata,
                    CreatedAt = e.Timestamp,
                });
            }
        }

        // Track every row, or only the first when the backend's command batch carries the others (PostgreSQL).
        var carried = rows.Count > 1 && backend.CarriesEventRows(EventStoreModel.Get(context.Model));
        foreach (var row in carried ? rows.Take(1) : rows)
        {
            entries.Add(set.Add(row));
        }

        session.InProgress = new SaveInProgress(plan, entries, guard, restores, snapshots, staged.PruneAfterSave)
        {
            Rows = rows,
            TrackedRows = carried ? 1 : rows.Count,
        };
        OutboxStaging.Stage(context, plan, entries); // outbox rows join the save's entries: removed with the events on failure
    }

    /// <summary>Removes the rows of an earlier save that did not succeed, so the next save adds each event once.</summary>
    private void Discard()
    {
        if (session.InProgress is not { } save)
        {
            return;
        }

        session.InProgress = null;
        save.ReleaseGuard();
        save.RestoreProjections?.Invoke();
        Detach(save.Entries);
        foreach (var restore in save.Restores)
        {
            restore();
        }
    }

    private static void Detach(IReadOnlyList<EntityEntry> entries)
    {
        foreach (var entry in entries)
        {
            entry.State = EntityState.Detached;
        }
    }

    private void ThrowIfConflict(Exception? conflict, AppendPlan plan)
    {
        if (conflict is not null)
        {
            throw Logged(conflict);
        }

        if (plan.HasKnownConflict)
        {
            throw new InvalidOperationException("The append plan found a version conflict that the classifier did not confirm.");
        }
    }

    /// <summary>
    /// Returns true when the store rejected the save because of the event store's own rows: its unique indexes or guard,
    /// or a snapshot row that a concurrent writer of the same stream wrote or deleted first.
    /// </summary>
    private bool IsStoreConflict(DbUpdateException exception, DbContext context)
        => backend.IsEventStoreConflict(exception, EventStoreModel.Get(context.Model))
           || exception.Entries.Any(e => e.Entity is StoredSnapshot);

    private static HashSet<StreamId> Streams(IReadOnlyList<SnapshotCandidate> snapshots) => snapshots.Select(s => s.StreamId).ToHashSet();

    private static Dictionary<StreamId, long> ReadKnown(AppendPlan plan)
    {
        // Under the in-process guard every stream's version was read for the plan; recover them from the plan.
        var versions = new Dictionary<StreamId, long>();
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            versions.TryAdd(plan.Batches[i].StreamId, plan.FirstVersions[i] - 1);
        }

        return versions;
    }

    private static HashSet<StreamId> Streams(IReadOnlyList<PendingAppend> batches) => batches.Select(b => b.StreamId).ToHashSet();

    private static Guid[] EventIds(IReadOnlyList<PendingAppend> batches) => batches.SelectMany(b => b.Events).Select(e => e.EventId).ToArray();

    /// <summary>
    /// A store conflict the classifier could not attribute (the conflicting row is no longer visible): report a version
    /// conflict on the stream of the rejected row.
    /// </summary>
    private static StreamConcurrencyException Fallback(SaveInProgress save, DbUpdateException exception, Dictionary<StreamId, long> versions)
    {
        var rejected = exception.Entries.Select(e => e.Entity).OfType<StoredEvent>().FirstOrDefault();
        var batch = save.Plan.Batches.FirstOrDefault(b => rejected is not null && b.StreamId.Type == rejected.StreamType && b.StreamId.Id == rejected.StreamId)
                    ?? save.Plan.Batches[0];
        var actual = versions.GetValueOrDefault(batch.StreamId);
        return new StreamConcurrencyException(batch.StreamId, batch.ExpectedVersion, actual == 0 ? null : actual, exception);
    }

    private Exception Logged(Exception conflict)
    {
        loggers.Streams.AppendConflict(conflict);
        return conflict;
    }

    /// <summary>Runs the inline projections over the staged events; if one fails, the save is settled as failed.</summary>
    private void ApplyInlineProjections(DbContext context)
    {
        try
        {
            InlineProjectionApplier.Apply(context, session.InProgress!);
        }
        catch
        {
            Discard();
            throw;
        }
    }

    /// <inheritdoc cref="ApplyInlineProjections"/>
    private async Task ApplyInlineProjectionsAsync(DbContext context, CancellationToken cancellationToken)
    {
        try
        {
            await InlineProjectionApplier.ApplyAsync(context, session.InProgress!, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Discard();
            throw;
        }
    }
}
