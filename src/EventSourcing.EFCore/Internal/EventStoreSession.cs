using Microsoft.EntityFrameworkCore.Infrastructure;

namespace EventSourcing.EFCore.Internal;

/// <summary>
/// The event store state of one DbContext instance: staged appends and the save in progress. Reset when a pooled
/// context is returned to its pool.
/// </summary>
internal sealed class EventStoreSession : IResettableService, IDisposable
{
    private readonly List<PendingAppend> _staged = [];

    public IReadOnlyList<PendingAppend> Staged => _staged;

    /// <summary>Gets or sets the save between SavingChanges and its outcome.</summary>
    public SaveInProgress? InProgress { get; set; }

    public void Stage(PendingAppend append) => _staged.Add(append);

    public void Unstage(PendingAppend append) => _staged.Remove(append);

    public void ClearStaged() => _staged.Clear();

    public void ResetState()
    {
        _staged.Clear();
        InProgress?.ReleaseGuard();
        InProgress = null;
    }

    public Task ResetStateAsync(CancellationToken cancellationToken = default)
    {
        ResetState();
        return Task.CompletedTask;
    }

    public void Dispose() => InProgress?.ReleaseGuard();
}
