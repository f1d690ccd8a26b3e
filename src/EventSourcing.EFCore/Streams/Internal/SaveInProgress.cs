using EventSourcing.EFCore.Snapshots.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// One SaveChanges that appends events, from SavingChanges until EF accepts it (or it fails): its plan, the rows its
/// participants added, and what undoes their other changes.
/// </summary>
internal sealed class SaveInProgress(AppendPlan plan, IDisposable? guard)
{
    private IDisposable? _guard = guard;

    public AppendPlan Plan { get; } = plan;

    /// <summary>Gets or sets the save's span and measurements, or null when nobody listens.</summary>
    public SaveTelemetry? Telemetry { get; set; }

    /// <summary>Gets a value indicating whether the save runs under the in-process append guard (no other writer can interleave).</summary>
    public bool IsGuarded { get; } = guard is not null;

    private Microsoft.EntityFrameworkCore.ChangeTracking.ChangeTracker? _suspendedDetectChanges;

    /// <summary>Gets the rows the participants added or deleted for the save; they are detached when the save is settled either way.</summary>
    public List<EntityEntry> Entries { get; } = [];

    /// <summary>
    /// Gets every event row of the save, in staging order, when EF's pipeline writes them (empty when the save writes
    /// them itself). When the backend carries event rows, only the first is tracked (in <see cref="Entries"/>) and its
    /// command batch writes them all; otherwise each row is tracked.
    /// </summary>
    public IReadOnlyList<StoredEvent> Rows { get; set; } = [];

    /// <summary>
    /// Gets or sets a value indicating whether the save writes its event rows itself (it changes nothing else) instead of
    /// tracking them for EF's update pipeline; EF's pipeline is then skipped.
    /// </summary>
    public bool WritesDirectly { get; set; }

    /// <summary>Gets or sets the number of event rows tracked by EF (all of them, or only the carrier).</summary>
    public int TrackedRows { get; set; }

    /// <summary>
    /// Gets the number of rows written but not tracked (carried by the first, or all of them when the save writes them
    /// itself), which SaveChanges' count leaves out.
    /// </summary>
    public int CarriedRows => WritesDirectly ? Plan.EventCount : Rows.Count - TrackedRows;

    /// <summary>Gets or sets the snapshots the save takes.</summary>
    public IReadOnlyList<SnapshotCandidate> Snapshots { get; set; } = [];

    /// <summary>Gets or sets the snapshots whose stream's older snapshots are deleted after the save succeeded.</summary>
    public IReadOnlyList<SnapshotCandidate> PruneAfterSave { get; set; } = [];

    /// <summary>Gets or sets the action that undoes the inline projections' changes to the change tracker, run if the save does not happen.</summary>
    public Action? RestoreProjections { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether EF wrote the save without accepting its changes
    /// (<c>SaveChanges(acceptAllChangesOnSuccess: false)</c>): it is settled when the caller accepts them, or staged again
    /// by the next SaveChanges.
    /// </summary>
    public bool AwaitsAcceptance { get; set; }

    /// <summary>
    /// Gets or sets the transaction the save began itself to hold its <see cref="ExpectedVersion.Any"/> streams' locks
    /// from reading their end to writing after it; committed when EF wrote the save, rolled back if it did not.
    /// </summary>
    public Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction? OwnTransaction { get; set; }

    /// <summary>
    /// Turns EF's automatic DetectChanges off until the save settles: it already ran under the guard, and EF's own run
    /// after SavingChanges (outside its try block, where a failure reaches no interceptor) would only repeat it.
    /// </summary>
    public void SuspendAutoDetectChanges(Microsoft.EntityFrameworkCore.ChangeTracking.ChangeTracker changeTracker)
    {
        changeTracker.AutoDetectChangesEnabled = false;
        _suspendedDetectChanges = changeTracker;
    }

    /// <summary>Releases the in-process guard and turns EF's automatic DetectChanges back on if the save turned it off.</summary>
    public void ReleaseGuard()
    {
        _guard?.Dispose();
        _guard = null;
        if (_suspendedDetectChanges is { } changeTracker)
        {
            _suspendedDetectChanges = null;
            changeTracker.AutoDetectChangesEnabled = true;
        }
    }
}
