using System.Text.Json;
using EventSourcing.EFCore.Aggregates.Internal;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Snapshots.Internal;

/// <summary>
/// Decides which aggregates a SaveChanges snapshots (policy, a stale stored snapshot, or <c>SnapshotAsync</c>) and adds
/// their snapshot rows to that same save, with deletes of the stream's older snapshots.
/// </summary>
internal static class SnapshotWriter
{
    /// <summary>Returns the snapshots this save takes: aggregates whose batch is the last of its stream in the save, and requested ones.</summary>
    public static IReadOnlyList<SnapshotCandidate> Plan(EventSourcingOptionsExtension options, AppendPlan plan, EventStoreSession session)
    {
        List<SnapshotCandidate>? candidates = null;
        var lastBatch = new Dictionary<StreamId, int>();
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            lastBatch[plan.Batches[i].StreamId] = i;
        }

        var inBatches = new HashSet<IEventSourcedAggregate>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            var batch = plan.Batches[i];
            if (batch.Source is not { } aggregate || batch.SourceEntry is not null || !SnapshotShape.Supports(aggregate.GetType()))
            {
                continue;
            }

            inBatches.Add(aggregate);
            var due = session.SnapshotRequests.Contains(aggregate)
                      || options.SnapshotPolicyFor(aggregate.GetType()) is { } policy
                      && policy.IsDue(aggregate, plan.FirstVersions[i] - 1, plan.ResultVersions[i], Unwrap(aggregate.PendingEvents));
            if (due && lastBatch[batch.StreamId] == i && batch.Events.Count > 0)
            {
                (candidates ??= []).Add(new SnapshotCandidate(aggregate, batch.StreamId, plan.ResultVersions[i]));
            }
        }

        foreach (var aggregate in session.SnapshotRequests)
        {
            if (!inBatches.Contains(aggregate) && aggregate.Version > 0 && aggregate.PendingEvents.Count == 0 && !aggregate.IsReadOnly)
            {
                (candidates ??= []).Add(new SnapshotCandidate(aggregate, aggregate.StreamId, aggregate.Version));
            }
        }

        return candidates ?? (IReadOnlyList<SnapshotCandidate>)[];
    }

    /// <summary>
    /// Adds a snapshot row per candidate (unless the stream already has one at that version or later). The stream's older
    /// snapshots are deleted in the same save when <paramref name="deleteOlderInSave"/> (under the in-process guard, where
    /// no other writer can delete them first); otherwise they are returned, to be pruned after the save succeeded (a
    /// tracked delete that a concurrent writer beat would fail the whole save). Serializes before anything is tracked, so
    /// a state that cannot be serialized fails the save before any write.
    /// </summary>
    public static (List<EntityEntry> Entries, List<SnapshotCandidate> PruneAfterSave) Stage(
        DbContext context,
        IReadOnlyList<SnapshotCandidate> candidates,
        IReadOnlyDictionary<StreamId, List<long>> storedVersions,
        EventSourcingOptionsExtension options,
        bool deleteOlderInSave)
    {
        var rows = new List<(SnapshotCandidate Candidate, StoredSnapshot Row, List<long> Older)>();
        var now = options.TimeProvider.GetUtcNow();
        foreach (var candidate in candidates)
        {
            var stored = storedVersions.GetValueOrDefault(candidate.StreamId) ?? [];
            if (stored.Any(v => v >= candidate.Version))
            {
                continue; // taken already (SnapshotAsync of an unchanged aggregate)
            }

            var type = candidate.Aggregate.GetType();
            var shape = SnapshotShape.Of(type);
            string state;
            try
            {
                state = options.SnapshotSerializer.Serialize(candidate.Aggregate);
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
            {
                throw new InvalidOperationException(Messages.SnapshotNotSerializable(candidate.StreamId, type, ex.Message), ex);
            }

            if (SnapshotRoundTrip.Refuse(context, options.SnapshotSerializer, candidate, state))
            {
                continue; // lossy: not stored (logged once per aggregate type); the aggregate's events are saved as usual
            }

            rows.Add((candidate, new StoredSnapshot
            {
                StreamType = candidate.StreamId.Type,
                StreamId = candidate.StreamId.Id,
                Version = candidate.Version,
                SnapshotType = AggregateTypeName.Of(type),
                SchemaVersion = shape.SchemaVersion,
                Fingerprint = shape.Fingerprint,
                State = state,
                CreatedAt = now,
            }, stored));
        }

        var set = context.Set<StoredSnapshot>();
        var entries = new List<EntityEntry>();
        var prune = new List<SnapshotCandidate>();
        foreach (var (candidate, row, older) in rows)
        {
            entries.Add(set.Add(row));
            if (older.Count > 0 && !deleteOlderInSave)
            {
                prune.Add(candidate);
                continue;
            }

            foreach (var version in older)
            {
                var stale = set.Attach(new StoredSnapshot { StreamType = row.StreamType, StreamId = row.StreamId, Version = version });
                stale.State = EntityState.Deleted;
                entries.Add(stale);
            }
        }

        return (entries, prune);
    }

    /// <summary>Selects the snapshots of <paramref name="snapshot"/>'s stream older than it, to prune after the save.</summary>
    public static IQueryable<StoredSnapshot> Older(DbContext context, SnapshotCandidate snapshot)
    {
        var (type, id, version) = (snapshot.StreamId.Type, snapshot.StreamId.Id, snapshot.Version);
        return context.Set<StoredSnapshot>().Where(s => s.StreamType == type && s.StreamId == id && s.Version < version);
    }

    private static object[] Unwrap(IReadOnlyList<object> events)
        => events.Select(e => e is EventData data ? data.Data : e).ToArray();
}

/// <summary>An aggregate a save snapshots, and the stream version its state is at when the save succeeds.</summary>
internal sealed record SnapshotCandidate(IEventSourcedAggregate Aggregate, StreamId StreamId, long Version);
