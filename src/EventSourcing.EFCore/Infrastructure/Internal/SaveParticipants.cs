using EventSourcing.EFCore.OutboxInternal;
using EventSourcing.EFCore.Projections.Internal;
using EventSourcing.EFCore.Snapshots.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Infrastructure.Internal;

/// <summary>
/// The ordered participants of a save that appends events — events, snapshots, outbox, inline projections — and the
/// save's settling over all of them: accepted (each participant settles, the rows are no longer tracked) or abandoned
/// (each participant undoes its changes in reverse order, the rows are removed, the batches stay staged).
/// </summary>
internal sealed class SaveParticipants(
    EventStoreSession session, AppendWriter events, SnapshotSaveParticipant snapshots, OutboxStaging outbox, InlineProjectionSaveParticipant projections)
{
    private readonly ISaveParticipant[] _inOrder = [events, snapshots, outbox, projections];
    private ChangeTracker? _watched;
    private object? _marker;

    public AppendWriter Events { get; } = events;

    public SnapshotSaveParticipant Snapshots { get; } = snapshots;

    /// <summary>Gets the save between SavingChanges and its settling, if any.</summary>
    public SaveInProgress? InProgress => session.InProgress;

    /// <summary>
    /// Returns the <c>acceptAllChangesOnSuccess</c> argument of the SaveChanges now running when known (see
    /// <see cref="EventStoreSession.TakeAcceptAllChangesOnSuccess"/>); taken at the start of every SavingChanges.
    /// </summary>
    public bool? TakeAcceptAllChangesOnSuccess() => session.TakeAcceptAllChangesOnSuccess();

    /// <summary>
    /// Runs each participant's part of the save in order, then places the event rows (written by the save itself, or
    /// tracked for EF); if one fails, the save is abandoned.
    /// </summary>
    public void Stage(DbContext context, SaveInProgress save, bool? acceptAllChangesOnSuccess)
    {
        try
        {
            foreach (var participant in _inOrder)
            {
                participant.Stage(context, save);
            }

            DetectChangesUnderFailureHandling(context, save);
            Events.Place(context, save, acceptAllChangesOnSuccess);
        }
        catch (Exception exception)
        {
            save.Telemetry?.Failed(exception);
            Abandon();
            throw;
        }
    }

    /// <inheritdoc cref="Stage"/>
    public async Task StageAsync(DbContext context, SaveInProgress save, bool? acceptAllChangesOnSuccess, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var participant in _inOrder)
            {
                await participant.StageAsync(context, save, cancellationToken).ConfigureAwait(false);
            }

            DetectChangesUnderFailureHandling(context, save);
            Events.Place(context, save, acceptAllChangesOnSuccess);
        }
        catch (Exception exception)
        {
            save.Telemetry?.Failed(exception);
            Abandon();
            throw;
        }
    }

    /// <summary>
    /// Returns true when EF accepted the save's changes as it wrote them: none of its added rows is still Added. With
    /// <c>SaveChanges(acceptAllChangesOnSuccess: false)</c> they stay Added until the caller accepts them.
    /// </summary>
    public static bool IsAccepted(SaveInProgress save)
    {
        foreach (var entry in save.Entries)
        {
            if (entry.State == EntityState.Added)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// EF wrote the save without accepting its changes (<c>acceptAllChangesOnSuccess: false</c>, as in EF's retrying
    /// execution strategy pattern): nothing is settled yet. The save is accepted when the caller accepts the changes
    /// (<c>ChangeTracker.AcceptAllChanges()</c> turns its first added row Unchanged); until then the next SaveChanges
    /// (a retry after a rollback) stages it again from scratch. The in-process guard is released: the rows are written.
    /// </summary>
    public void AwaitAcceptance(DbContext context, SaveInProgress save)
    {
        save.ReleaseGuard();
        save.AwaitsAcceptance = true;
        Unwatch();
        _marker = save.Entries.First(e => e.State == EntityState.Added).Entity;
        _watched = context.ChangeTracker;
        _watched.StateChanged += OnStateChanged;
    }

    /// <summary>EF accepted the save: every participant settles, and the save's rows are no longer tracked.</summary>
    public void Accept(SaveInProgress save)
    {
        if (!ReferenceEquals(session.InProgress, save))
        {
            return;
        }

        Unwatch();
        session.InProgress = null;
        save.ReleaseGuard();
        Detach(save);
        foreach (var participant in _inOrder)
        {
            participant.Accept(save);
        }
    }

    /// <summary>
    /// Settles a save that did not happen (failed, cancelled) or that EF did not accept and that is saved again: its rows
    /// are removed and each participant undoes its changes, so the next save writes each event once. Returns the save.
    /// </summary>
    public SaveInProgress? Abandon()
    {
        if (session.InProgress is not { } save)
        {
            return null;
        }

        Unwatch();
        session.InProgress = null;
        save.ReleaseGuard();
        for (var i = _inOrder.Length - 1; i >= 0; i--)
        {
            _inOrder[i].Abandon(save);
        }

        Detach(save);
        return save;
    }

    /// <summary>Releases the in-process guard without touching the change tracker (EF may still be inside its batch).</summary>
    public void ReleaseGuard() => session.InProgress?.ReleaseGuard();

    /// <summary>
    /// Runs EF's DetectChanges here, where a failure abandons the save (releasing the in-process guard and ending its
    /// span): EF's own run after SavingChanges, which would find nothing new, is skipped until the save settles (a
    /// failure there would reach no interceptor).
    /// </summary>
    private static void DetectChangesUnderFailureHandling(DbContext context, SaveInProgress save)
    {
        if (context.ChangeTracker.AutoDetectChangesEnabled)
        {
            context.ChangeTracker.DetectChanges();
            save.SuspendAutoDetectChanges(context.ChangeTracker);
        }
    }

    private void OnStateChanged(object? sender, EntityStateChangedEventArgs e)
    {
        if (e.OldState == EntityState.Added
            && e.NewState == EntityState.Unchanged
            && ReferenceEquals(e.Entry.Entity, _marker)
            && session.InProgress is { AwaitsAcceptance: true } save)
        {
            Accept(save);
        }
    }

    private void Unwatch()
    {
        if (_watched is not null)
        {
            _watched.StateChanged -= OnStateChanged;
            _watched = null;
        }

        _marker = null;
    }

    private static void Detach(SaveInProgress save)
    {
        foreach (var entry in save.Entries)
        {
            entry.State = EntityState.Detached;
        }
    }
}
