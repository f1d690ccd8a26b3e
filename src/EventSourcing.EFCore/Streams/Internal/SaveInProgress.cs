using EventSourcing.EFCore.Snapshots.Internal;
using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace EventSourcing.EFCore.Streams.Internal;

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

    /// <summary>
    /// Gets every event row of the save, in staging order. When the backend carries event rows, only the first is
    /// tracked (<see cref="Entries"/>) and its command batch writes them all; otherwise each row is tracked.
    /// </summary>
    public IReadOnlyList<Storage.StoredEvent> Rows { get; init; } = [];

    /// <summary>Gets the number of event rows tracked by EF (all of them, or only the carrier).</summary>
    public int TrackedRows { get; init; }

    /// <summary>Gets the number of rows written but not tracked (carried by the first), which SaveChanges' count leaves out.</summary>
    public int CarriedRows => Rows.Count - TrackedRows;

    public void ReleaseGuard()
    {
        _guard?.Dispose();
        _guard = null;
    }

    /// <summary>Gets or sets the action that undoes the inline projections' changes to the change tracker, run if the save fails.</summary>
    public Action? RestoreProjections { get; set; }
}
