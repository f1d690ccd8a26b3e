using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace EventSourcing.EFCore.Internal;

/// <summary>The rows one SaveChanges added for its staged batches, kept until the save's outcome is known.</summary>
internal sealed class SaveInProgress(AppendPlan plan, IReadOnlyList<EntityEntry> entries, IDisposable? guard, IReadOnlyList<Action> restores)
{
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

    /// <summary>Gets the number of rows written but not tracked (carried by the first), which SaveChanges' count leaves out.</summary>
    public int CarriedRows => Rows.Count - Entries.Count;

    public void ReleaseGuard()
    {
        _guard?.Dispose();
        _guard = null;
    }
}
