using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// The event store state of one DbContext instance: staged appends and the save in progress. Reset when a pooled
/// context is returned to its pool.
/// </summary>
internal sealed class EventStoreSession(ICurrentDbContext currentContext) : IResettableService, IDisposable
{
    private readonly List<PendingAppend> _staged = [];
    private DbContext? _watched;
    private bool? _acceptAllChangesOnSuccess;
    private readonly List<IEventSourcedAggregate> _aggregates = [];
    private readonly Dictionary<StreamId, IEventSourcedAggregate> _identityMap = [];

    public IReadOnlyList<PendingAppend> Staged => _staged;

    /// <summary>Gets the aggregates added or loaded through this context, in the order they were tracked.</summary>
    public IReadOnlyList<IEventSourcedAggregate> Aggregates => _aggregates;

    /// <summary>Tracks an aggregate; its pending events are drained by every SaveChanges of the context.</summary>
    public void Track(IEventSourcedAggregate aggregate, StreamId? streamId)
    {
        if (_aggregates.Contains(aggregate))
        {
            return;
        }

        WatchSaves();

        if (streamId is { } id)
        {
            if (_identityMap.TryGetValue(id, out var other) && !ReferenceEquals(other, aggregate))
            {
                throw new InvalidOperationException(Messages.AggregateAlreadyTracked(id));
            }

            _identityMap[id] = aggregate;
        }

        _aggregates.Add(aggregate);
    }

    /// <summary>
    /// Gets the tracked aggregates whose next save writes a snapshot whatever the policy says: their stored snapshot was
    /// stale, or <c>SnapshotAsync</c> asked for one.
    /// </summary>
    public HashSet<IEventSourcedAggregate> SnapshotRequests { get; } = new(ReferenceEqualityComparer.Instance);

    public IEventSourcedAggregate? FindTracked(StreamId streamId) => _identityMap.GetValueOrDefault(streamId);

    /// <summary>Gets or sets the save between SavingChanges and its outcome.</summary>
    public SaveInProgress? InProgress { get; set; }

    public void Stage(PendingAppend append)
    {
        WatchSaves();
        _staged.Add(append);
    }

    /// <summary>
    /// Returns the <c>acceptAllChangesOnSuccess</c> argument of the SaveChanges now running, as its
    /// <see cref="DbContext.SavingChanges"/> event told it, and forgets it; null when the session did not watch the save
    /// (it watches from the first append or aggregate it stages, until the context is returned to its pool).
    /// </summary>
    public bool? TakeAcceptAllChangesOnSuccess()
    {
        var value = _acceptAllChangesOnSuccess;
        _acceptAllChangesOnSuccess = null;
        return value;
    }

    private void WatchSaves()
    {
        if (_watched is null)
        {
            _watched = currentContext.Context;
            _watched.SavingChanges += OnSavingChanges;
        }
    }

    private void OnSavingChanges(object? sender, SavingChangesEventArgs e) => _acceptAllChangesOnSuccess = e.AcceptAllChangesOnSuccess;

    public void Unstage(PendingAppend append) => _staged.Remove(append);

    public void ClearStaged() => _staged.Clear();

    public void ResetState()
    {
        if (_watched is not null)
        {
            _watched.SavingChanges -= OnSavingChanges;
            _watched = null;
        }

        _acceptAllChangesOnSuccess = null;
        _staged.Clear();
        _aggregates.Clear();
        _identityMap.Clear();
        SnapshotRequests.Clear();
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
