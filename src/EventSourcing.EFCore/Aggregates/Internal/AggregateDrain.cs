using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Aggregates.Internal;

/// <summary>
/// Collects what one SaveChanges appends: the batches staged with <c>Append</c>, then one batch per aggregate with
/// pending events (tracked through <c>db.Aggregates&lt;T&gt;()</c>, or a tracked EF entity implementing
/// <see cref="IEventSourcedAggregate"/>, also when it is being deleted), expecting the version the aggregate was loaded at.
/// </summary>
internal static class AggregateDrain
{
    public static IReadOnlyList<PendingAppend> Collect(DbContext context, EventStoreSession session)
    {
        List<PendingAppend>? batches = session.Staged.Count > 0 ? [.. session.Staged] : null;
        EventSourcingOptionsExtension? options = null;
        foreach (var (aggregate, entry) in Aggregates(context, session))
        {
            if (aggregate.PendingEvents.Count == 0)
            {
                continue;
            }

            if (aggregate.IsReadOnly)
            {
                throw new InvalidOperationException(Messages.ReadOnlyAggregate(aggregate.StreamId));
            }

            var streamId = aggregate.StreamId;
            options ??= context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!;
            var events = EventPreparer.Prepare(options, streamId, aggregate.PendingEvents);
            EventPreparer.ThrowIfVersionOverflows(streamId, aggregate.Version, events.Count, nameof(aggregate.Version));
            (batches ??= []).Add(new PendingAppend(streamId, ExpectedVersion.Exactly(aggregate.Version), events, aggregate, entry));
        }

        return batches ?? (IReadOnlyList<PendingAppend>)[];
    }

    private static IEnumerable<(IEventSourcedAggregate Aggregate, EntityEntry? Entry)> Aggregates(DbContext context, EventStoreSession session)
    {
        foreach (var aggregate in session.Aggregates)
        {
            yield return (aggregate, null);
        }

        // EF entities that record events. Entries() would run DetectChanges, which SaveChanges runs anyway afterwards.
        var tracker = context.ChangeTracker;
        var detect = tracker.AutoDetectChangesEnabled;
        tracker.AutoDetectChangesEnabled = false;
        try
        {
            foreach (var entry in tracker.Entries<IEventSourcedAggregate>())
            {
                // A Deleted entity's events are written too: they happened (the last one often is why it is removed).
                if (!session.Aggregates.Contains(entry.Entity))
                {
                    yield return (entry.Entity, entry);
                }
            }
        }
        finally
        {
            tracker.AutoDetectChangesEnabled = detect;
        }
    }
}
