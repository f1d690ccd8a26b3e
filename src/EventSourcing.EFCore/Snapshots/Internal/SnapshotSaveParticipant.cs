using System.Data.Common;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Snapshots.Internal;

/// <summary>
/// The snapshots' part of a save: the snapshot rows of the aggregates due for one (<see cref="SnapshotWriter"/>), the
/// requests they settle once EF accepts the save, and the older snapshots pruned after it.
/// </summary>
internal sealed class SnapshotSaveParticipant(EventStoreSession session, EventSourcingLoggers loggers, IDbContextOptions options) : ISaveParticipant
{
    private readonly EventSourcingOptionsExtension _options = options.FindExtension<EventSourcingOptionsExtension>()!;

    public void Stage(DbContext context, SaveInProgress save)
    {
        var snapshots = SnapshotWriter.Plan(_options, save.Plan, session);
        if (snapshots.Count > 0)
        {
            Add(save, snapshots, SnapshotWriter.Stage(context, snapshots, StoreProbe.ReadSnapshotVersions(context, Streams(snapshots)), _options, save.IsGuarded));
        }
    }

    public async Task StageAsync(DbContext context, SaveInProgress save, CancellationToken cancellationToken)
    {
        var snapshots = SnapshotWriter.Plan(_options, save.Plan, session);
        if (snapshots.Count > 0)
        {
            var stored = await StoreProbe.ReadSnapshotVersionsAsync(context, Streams(snapshots), cancellationToken).ConfigureAwait(false);
            Add(save, snapshots, SnapshotWriter.Stage(context, snapshots, stored, _options, save.IsGuarded));
        }
    }

    public void Accept(SaveInProgress save)
    {
        foreach (var snapshot in save.Snapshots)
        {
            session.SnapshotRequests.Remove(snapshot.Aggregate);
            loggers.Snapshots.SnapshotTaken(snapshot.StreamId, snapshot.Version);
        }
    }

    public void Abandon(SaveInProgress save)
    {
    }

    /// <summary>
    /// Deletes the snapshots an accepted save superseded. Runs only outside a user transaction, as a statement of its
    /// own: a failure is logged and changes nothing else (the rows are pruned by a later snapshot of the stream).
    /// </summary>
    public void PruneSuperseded(DbContext context, SaveInProgress save)
    {
        foreach (var snapshot in ToPrune(context, save))
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

    /// <inheritdoc cref="PruneSuperseded"/>
    public async Task PruneSupersededAsync(DbContext context, SaveInProgress save)
    {
        foreach (var snapshot in ToPrune(context, save))
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

    private static IReadOnlyList<SnapshotCandidate> ToPrune(DbContext context, SaveInProgress save)
        => context.Database.CurrentTransaction is null ? save.PruneAfterSave : [];

    private static void Add(SaveInProgress save, IReadOnlyList<SnapshotCandidate> snapshots, (List<Microsoft.EntityFrameworkCore.ChangeTracking.EntityEntry> Entries, List<SnapshotCandidate> PruneAfterSave) staged)
    {
        save.Snapshots = snapshots;
        save.PruneAfterSave = staged.PruneAfterSave;
        save.Entries.AddRange(staged.Entries);
    }

    private static HashSet<StreamId> Streams(IReadOnlyList<SnapshotCandidate> snapshots) => snapshots.Select(s => s.StreamId).ToHashSet();
}
