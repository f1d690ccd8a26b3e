using System.Text;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Serialization.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// The events a projection skipped under <see cref="ProjectionErrorPolicy.DeadLetter"/>: recording one, and applying
/// them again (<see cref="ReplayAsync"/>, run inside <see cref="IProjectionBackend.RunExclusiveAsync{T}"/>).
/// </summary>
internal static class ProjectionDeadLetters
{
    public static ProjectionDeadLetter Create(string projection, EventRow row, Exception error, DateTimeOffset now)
    {
        var e = row.Event;
        return new ProjectionDeadLetter
        {
            Projection = projection,
            GlobalPosition = e.GlobalPosition,
            TransactionId = row.TransactionId,
            StreamType = e.StreamType,
            StreamId = e.StreamId,
            Version = e.Sequence,
            EventId = e.EventId,
            EventType = e.EventType,
            ErrorType = error.GetType().FullName ?? error.GetType().Name,
            Error = Describe(error),
            Attempts = 1,
            FailedAt = now,
        };
    }

    /// <summary>
    /// Applies the projection's dead-lettered events again, in commit order, and saves in one SaveChanges the read-model
    /// changes, the removal of the dead letters that succeeded and the new error of those that failed again.
    /// </summary>
    /// <returns>The number of dead letters applied and removed.</returns>
    public static async Task<int> ReplayAsync(DbContext context, Projection projection, CancellationToken cancellationToken)
    {
        var name = projection.Name;
        var options = context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!;
        var backend = context.GetService<IProjectionBackend>();
        var failed = new Dictionary<long, Exception>();
        List<ProjectionDeadLetter> letters;
        ProjectionCheckpoint checkpoint;
        while (true)
        {
            context.ChangeTracker.Clear();
            checkpoint = await backend.LoadCheckpointForUpdateAsync(context, name, cancellationToken).ConfigureAwait(false);
            letters = await context.Set<ProjectionDeadLetter>()
                .AsTracking()
                .Where(d => d.Projection == name)
                .ToListAsync(cancellationToken)
                .ConfigureAwait(false);
            letters.Sort((a, b) => new GlobalCheckpoint(a.TransactionId, a.GlobalPosition).CompareTo(new GlobalCheckpoint(b.TransactionId, b.GlobalPosition)));
            var positions = letters.Select(d => d.GlobalPosition).ToList();
            var rows = await context.Set<StoredEvent>()
                .AsNoTracking()
                .Where(e => positions.Contains(e.GlobalPosition))
                .ToDictionaryAsync(e => e.GlobalPosition, cancellationToken)
                .ConfigureAwait(false);
            var events = new List<RecordedEvent>(letters.Count);
            foreach (var letter in letters)
            {
                if (failed.ContainsKey(letter.GlobalPosition))
                {
                    continue;
                }

                if (!rows.TryGetValue(letter.GlobalPosition, out var stored))
                {
                    failed.Add(letter.GlobalPosition, new InvalidOperationException(Messages.DeadLetterEventMissing(name, letter.GlobalPosition)));
                    continue;
                }

                try
                {
                    events.Add(StoredEventDecoder.Event(options, new EventRow(stored, letter.TransactionId)));
                }
                catch (EventDeserializationException ex)
                {
                    failed.Add(letter.GlobalPosition, ex);
                }
            }

            if (await ProjectionBatch.ApplyAsync(context, projection, events, failed, new GlobalCheckpoint(checkpoint.TransactionId, checkpoint.Position), cancellationToken).ConfigureAwait(false) is not { } failure)
            {
                break;
            }

            failed.Add(failure.Event.GlobalPosition, failure.Error);
        }

        var now = ProjectionCheckpoints.Clock(context).GetUtcNow();
        checkpoint.UpdatedAt = now; // the read model changed: a batch that read it before must not save over it
        var applied = 0;
        foreach (var letter in letters)
        {
            if (failed.TryGetValue(letter.GlobalPosition, out var error))
            {
                letter.ErrorType = error.GetType().FullName ?? error.GetType().Name;
                letter.Error = Describe(error);
                letter.Attempts++;
                letter.FailedAt = now;
            }
            else
            {
                context.Remove(letter);
                applied++;
            }
        }

        try
        {
            await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            context.ChangeTracker.Clear();
        }

        EventSourcingLoggers.Of(context).Projections.ProjectionDeadLettersReplayed(name, applied, letters.Count - applied);
        return applied;
    }

    /// <summary>Removes every dead letter of the projection (tracked; saved with the reset).</summary>
    public static async Task RemoveAllAsync(DbContext context, string projection, CancellationToken cancellationToken)
    {
        var letters = await context.Set<ProjectionDeadLetter>()
            .AsTracking()
            .Where(d => d.Projection == projection)
            .ToListAsync(cancellationToken)
            .ConfigureAwait(false);
        context.RemoveRange(letters);
    }

    private static string Describe(Exception error)
    {
        var text = new StringBuilder(error.Message);
        for (var inner = error.InnerException; inner is not null; inner = inner.InnerException)
        {
            text.Append(" ---> ").Append(inner.GetType().Name).Append(": ").Append(inner.Message);
        }

        return text.ToString();
    }
}
