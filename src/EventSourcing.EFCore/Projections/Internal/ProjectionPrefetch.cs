using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// Runs a projection's prefetch hook (<see cref="Projection{TContext}.PrefetchAsync"/>) before the handlers of a batch
/// (catch-up, dead-letter replay) or of a SaveChanges (inline). A hook that fails fails the whole batch with
/// <see cref="ProjectionFailedException"/>: no single event is to blame, so the error policy cannot dead-letter one.
/// </summary>
internal static class ProjectionPrefetch
{
    /// <summary>
    /// Runs the hook with <paramref name="events"/>, if any: for a catch-up batch or a dead-letter replay (<paramref name="checkpoint"/>:
    /// the committed checkpoint), or inside an asynchronous SaveChanges (null).
    /// </summary>
    public static async Task RunAsync(
        DbContext context, Projection projection, IReadOnlyList<RecordedEvent> events, GlobalCheckpoint? checkpoint, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return;
        }

        try
        {
            await projection.PrefetchBatchAsync(context, events, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Handed to the caller as the batch's failure (never swallowed): nothing of the batch is saved.
            throw ProjectionFailedException.PrefetchFailed(projection.Name, events, checkpoint, ex);
        }
    }

    /// <summary>Runs the hook of an inline projection inside a synchronous SaveChanges: it must complete synchronously.</summary>
    public static void Run(DbContext context, Projection projection, IReadOnlyList<RecordedEvent> events)
    {
        Task task;
        try
        {
            task = projection.PrefetchBatchAsync(context, events, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw ProjectionFailedException.PrefetchFailed(projection.Name, events, checkpoint: null, ex);
        }

        if (!task.IsCompleted)
        {
            throw new InvalidOperationException(Messages.InlinePrefetchNotSynchronous(projection.Name));
        }

        if (task.IsFaulted)
        {
            var failure = task.Exception!.InnerException!;
            if (failure is OperationCanceledException)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }

            throw ProjectionFailedException.PrefetchFailed(projection.Name, events, checkpoint: null, failure);
        }

        if (task.IsCanceled)
        {
            throw new TaskCanceledException(task);
        }
    }

    /// <summary>Groups an inline save's work by projection, in the order each projection first appears: the hooks' input.</summary>
    public static List<(Projection Projection, List<RecordedEvent> Events)> ByProjection(List<(Projection Projection, RecordedEvent Envelope)> work)
    {
        var groups = new List<(Projection Projection, List<RecordedEvent> Events)>();
        foreach (var (projection, envelope) in work)
        {
            var group = groups.Find(g => ReferenceEquals(g.Projection, projection));
            if (group.Events is null)
            {
                group = (projection, []);
                groups.Add(group);
            }

            group.Events.Add(envelope);
        }

        return groups;
    }
}
