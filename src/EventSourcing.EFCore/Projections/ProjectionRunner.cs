using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Projections.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore;

/// <summary>
/// The catch-up projections of one DbContext, obtained with <c>db.Projections()</c>: catch one up now, rebuild it, or
/// read how far it is behind. For tests and tools; applications usually run them with the hosted service of
/// <c>services.AddEventSourcingProjections&lt;TContext&gt;()</c>.
/// </summary>
/// <remarks>
/// Catching up and rebuilding use the context as their unit of work: each batch starts with an empty change tracker
/// and ends with one SaveChanges that commits the read-model changes and the new checkpoint together. Call them on a
/// context without unsaved changes.
/// </remarks>
public sealed class ProjectionRunner
{
    private readonly DbContext _context;
    private readonly EventSourcingOptionsExtension _options;

    internal ProjectionRunner(DbContext context, EventSourcingOptionsExtension options)
    {
        _context = context;
        _options = options;
    }

    /// <summary>Gets the names of the catch-up projections registered on the context, in registration order.</summary>
    public IReadOnlyList<string> Names => _options.Projections.Where(p => !p.IsInline).Select(p => p.Projection.Name).ToArray();

    /// <summary>
    /// Applies every committed event after the projection's checkpoint, in batches of 500 events per SaveChanges, until
    /// read-all has nothing more to return. Calling it again without new events applies nothing.
    /// </summary>
    /// <param name="name">The catch-up projection's name.</param>
    /// <param name="cancellationToken">A token to cancel the operation; batches already committed stay committed.</param>
    /// <returns>
    /// The number of events of the types the projection handles that it applied (or recorded as dead letters); events of
    /// other types are passed without being read and are not counted.
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space.</exception>
    /// <exception cref="InvalidOperationException">No catch-up projection has that name, or the context has unsaved changes.</exception>
    /// <exception cref="ProjectionFailedException">
    /// A handler failed, or an event of a type the projection handles cannot be read, under <see cref="ProjectionErrorPolicy.Stop"/>;
    /// the failing batch is not saved and the checkpoint stays before it.
    /// </exception>
    /// <exception cref="CheckpointTransactionIdException">Stored transaction ids are above the database's counter (a restore into another cluster).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<long> CatchUpAsync(string name, CancellationToken cancellationToken = default)
    {
        var projection = Find(name);
        ThrowIfUnsavedChanges();
        return ProjectionCatchUp.CatchUpAsync(_context, projection, ProjectionCatchUp.DefaultBatchSize, cancellationToken);
    }

    /// <summary>
    /// Rebuilds a catch-up projection: clears its read model through <see cref="Projection{TContext}.ResetAsync"/> and
    /// moves its checkpoint to the start (saved together), then replays every event as <see cref="CatchUpAsync"/> does.
    /// Readers see the read model fill up again during the replay.
    /// </summary>
    /// <param name="name">The catch-up projection's name.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>The number of events replayed.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space.</exception>
    /// <exception cref="InvalidOperationException">
    /// No catch-up projection has that name, the context has unsaved changes, or the projection does not override ResetAsync.
    /// </exception>
    /// <exception cref="ProjectionFailedException">A handler failed during the replay.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<long> RebuildAsync(string name, CancellationToken cancellationToken = default)
    {
        var projection = Find(name);
        ThrowIfUnsavedChanges();
        await ProjectionCatchUp.ResetAsync(_context, projection, cancellationToken).ConfigureAwait(false);
        return await ProjectionCatchUp.CatchUpAsync(_context, projection, ProjectionCatchUp.DefaultBatchSize, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the projection's checkpoint and how far behind the store it is (events and time).</summary>
    /// <param name="name">The catch-up projection's name.</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>The checkpoint, the number of committed events after it and the age of the oldest of them.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space.</exception>
    /// <exception cref="InvalidOperationException">No catch-up projection has that name.</exception>
    /// <exception cref="CheckpointTransactionIdException">Stored transaction ids are above the database's counter (a restore into another cluster).</exception>
    public Task<ProjectionLag> GetLagAsync(string name, CancellationToken cancellationToken = default)
    {
        var projection = Find(name);
        return CatchUpTelemetry.ReportAsync(_context, ProjectionLagReader.ReadAsync(_context, projection, _options.Registry, _options.Upcasting, _options.TimeProvider, cancellationToken));
    }

    /// <summary>
    /// Applies again the events the projection recorded as dead letters (<see cref="ProjectionErrorPolicy.DeadLetter"/>),
    /// in commit order, for example once the handler is fixed. Those that succeed are removed; those that fail again
    /// stay, with the new error and one more attempt. All of it is saved in one SaveChanges.
    /// </summary>
    /// <param name="name">The catch-up projection's name.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>The number of dead letters applied and removed.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space.</exception>
    /// <exception cref="InvalidOperationException">No catch-up projection has that name, or the context has unsaved changes.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<int> ReplayDeadLettersAsync(string name, CancellationToken cancellationToken = default)
    {
        var projection = Find(name);
        ThrowIfUnsavedChanges();
        return ProjectionCatchUp.ReplayDeadLettersAsync(_context, projection, cancellationToken);
    }

    /// <summary>
    /// Moves the projection's checkpoint to just after the event stored at <paramref name="globalPosition"/> (0: the
    /// start), with that event's stored transaction id, so that the next catch-up applies the events after it. Part of the
    /// rebase procedure after the store was restored or replicated into another cluster
    /// (<see cref="CheckpointTransactionIdException"/>); also a way to skip a projection past history on purpose. The read
    /// model is not changed.
    /// </summary>
    /// <param name="name">The catch-up projection's name.</param>
    /// <param name="globalPosition">The position of the last event the read model already reflects, or 0.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>The new checkpoint.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="globalPosition"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">
    /// No catch-up projection has that name, the context has unsaved changes, or no event is stored at <paramref name="globalPosition"/>.
    /// </exception>
    public Task<GlobalCheckpoint> RebaseCheckpointAsync(string name, long globalPosition, CancellationToken cancellationToken = default)
    {
        var projection = Find(name);
        ArgumentOutOfRangeException.ThrowIfNegative(globalPosition);
        ThrowIfUnsavedChanges();
        return ProjectionCatchUp.RebaseAsync(_context, projection, globalPosition, cancellationToken);
    }

    private Projection Find(string name)
    {
        StreamId.Validate(name, nameof(name)); // the same text rules as stream ids: not blank, at most 256 characters, no control characters or lone surrogates
        return _options.GetCatchUpProjection(name);
    }

    private void ThrowIfUnsavedChanges()
    {
        var session = _context.GetService<EventStoreSession>();
        if (session.Staged.Count > 0
            || session.Aggregates.Any(a => a.PendingEvents.Count > 0)
            || _context.ChangeTracker.HasChanges())
        {
            throw new InvalidOperationException(Messages.ProjectionContextHasChanges);
        }
    }
}
