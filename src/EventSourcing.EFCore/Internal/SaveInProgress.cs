using EventSourcing.EFCore.Snapshots;
using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace EventSourcing.EFCore.Internal;

/// <summary>The rows one SaveChanges added for its staged batches, kept until the save's outcome is known.</summary>
internal sealed class SaveInProgress(
    AppendPlan plan, IReadOnlyList<EntityEntry> entries, IDisposable? guard, IReadOnlyList<Action> restores, IReadOnlyList<SnapshotCandidate> snapshots,
    IReadOnlyList<SnapshotCandidate> pruneAfterSave)
{
    /// <summary>Gets the snapshots whose stream's older snapshots are deleted after the save succeeded.</summary>
    public IReadOnlyList<SnapshotCandidate> PruneAfterSave { get; } = pruneAfterSave;

    /// <summary>Gets the snapshots the save takes.</summary>
    public IReadOnlyList<SnapshotCandidate> Snapshots { get; } = snapshots;

    /// <summary>Gets the actions that undo what the save changed on the user's entities (their mapped Version), run if it fails.</summary>
    public IReadOnlyList<Action> Restores { get; } = restores;

    private IDisposable? _guard = guard;

    public AppendPlan Plan { get; } = plan;

    public IReadOnlyList<EntityEntry> Entries { get; } = entries;

    public void ReleaseGuard()
    {
        _guard?.Dispose();
        _guard = null;
    }

    /// <summary>Gets or sets the action that undoes the inline projections' changes to the change tracker, run if the save fails.</summary>
    public Action? RestoreProjections { get; set; }
}
