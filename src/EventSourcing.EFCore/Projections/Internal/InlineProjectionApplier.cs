using System.Runtime.ExceptionServices;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Serialization.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// Runs the inline projections inside SaveChanges, after the save's event rows are staged and before EF detects changes,
/// so the handlers' read-model changes are saved in the same transaction as the events. The change tracker is recorded
/// first; a failed save puts it back (<see cref="SaveInProgress.RestoreProjections"/>) so a retry applies each event once.
/// </summary>
/// <remarks>
/// Handlers see the envelope as it will be stored, except <see cref="RecordedEvent.GlobalPosition"/> (0) and
/// <see cref="RecordedEvent.Checkpoint"/> (<see cref="GlobalCheckpoint.Start"/>), which the database assigns on INSERT;
/// <see cref="RecordedEvent.Data"/> is the appended object itself.
/// </remarks>
internal static class InlineProjectionApplier
{
    public static void Apply(DbContext context, SaveInProgress save)
    {
        var (work, snapshot) = Prepare(context, save);
        foreach (var (projection, events) in ProjectionPrefetch.ByProjection(work))
        {
            ProjectionPrefetch.Run(context, projection, events);
        }

        foreach (var (projection, envelope) in work)
        {
            Task task;
            try
            {
                task = projection.ApplyAsync(context, envelope, CancellationToken.None);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new ProjectionFailedException(projection.Name, envelope, checkpoint: null, ex);
            }

            if (!task.IsCompleted)
            {
                throw new InvalidOperationException(Messages.InlineProjectionNotSynchronous(projection.Name, envelope.EventType));
            }

            if (task.Exception?.InnerException is { } failure)
            {
                if (failure is OperationCanceledException)
                {
                    ExceptionDispatchInfo.Throw(failure);
                }

                throw new ProjectionFailedException(projection.Name, envelope, checkpoint: null, failure);
            }

            if (task.IsCanceled)
            {
                throw new TaskCanceledException(task);
            }
        }

        snapshot?.RecordApplied();
    }

    public static async Task ApplyAsync(DbContext context, SaveInProgress save, CancellationToken cancellationToken)
    {
        var (work, snapshot) = Prepare(context, save);
        foreach (var (projection, events) in ProjectionPrefetch.ByProjection(work))
        {
            await ProjectionPrefetch.RunAsync(context, projection, events, checkpoint: null, cancellationToken).ConfigureAwait(false);
        }

        foreach (var (projection, envelope) in work)
        {
            try
            {
                await projection.ApplyAsync(context, envelope, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new ProjectionFailedException(projection.Name, envelope, checkpoint: null, ex);
            }
        }

        snapshot?.RecordApplied();
    }

    private static (List<(Projection Projection, RecordedEvent Envelope)> Work, ChangeTrackerSnapshot? Snapshot) Prepare(DbContext context, SaveInProgress save)
    {
        var registrations = context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!.Projections;
        var work = new List<(Projection, RecordedEvent)>();
        if (!registrations.Any(r => r.IsInline))
        {
            return (work, null);
        }

        var plan = save.Plan;
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            var batch = plan.Batches[i];
            var version = plan.FirstVersions[i];
            foreach (var e in batch.Events)
            {
                RecordedEvent? envelope = null;
                foreach (var registration in registrations)
                {
                    if (!registration.IsInline || !registration.Projection.Handles(e.Data.GetType()))
                    {
                        continue;
                    }

                    if (!registration.Projection.ContextType.IsInstanceOfType(context))
                    {
                        throw new InvalidOperationException(
                            Messages.ProjectionContextMismatch(registration.Projection.Name, registration.Projection.ContextType, context.GetType()));
                    }

                    envelope ??= new RecordedEvent(
                        batch.StreamId, version, 0, GlobalCheckpoint.Start, e.EventId, e.EventType, e.EventTypeVersion, e.Data,
                        EventSerializer.DeserializeMetadata(e.Metadata), e.Timestamp);
                    work.Add((registration.Projection, envelope));
                }

                version++;
            }
        }

        if (work.Count == 0)
        {
            return (work, null);
        }

        var snapshot = ChangeTrackerSnapshot.Take(context);
        save.RestoreProjections = snapshot.Restore;
        return (work, snapshot);
    }
}
