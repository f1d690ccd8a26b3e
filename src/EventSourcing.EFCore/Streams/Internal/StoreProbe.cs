using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// The reads an append needs besides the write itself: current stream versions (for Any, StreamExists and empty
/// batches) and, when a conflict must be classified, where the batch's event ids are already stored.
/// </summary>
internal static class StoreProbe
{
    public static Dictionary<StreamId, long> ReadVersions(DbContext context, IReadOnlyCollection<StreamId> streams)
        => streams.Count == 0 ? [] : ToVersions(streams, VersionsQuery(context, streams).ToList());

    public static async Task<Dictionary<StreamId, long>> ReadVersionsAsync(
        DbContext context, IReadOnlyCollection<StreamId> streams, CancellationToken cancellationToken)
        => streams.Count == 0
            ? []
            : ToVersions(streams, await VersionsQuery(context, streams).ToListAsync(cancellationToken).ConfigureAwait(false));

    public static Dictionary<Guid, StoredLocation> ReadLocations(DbContext context, IReadOnlyCollection<Guid> eventIds)
        => eventIds.Count == 0 ? [] : ToLocations(LocationsQuery(context, eventIds).ToList());

    public static async Task<Dictionary<Guid, StoredLocation>> ReadLocationsAsync(
        DbContext context, IReadOnlyCollection<Guid> eventIds, CancellationToken cancellationToken)
        => eventIds.Count == 0
            ? []
            : ToLocations(await LocationsQuery(context, eventIds).ToListAsync(cancellationToken).ConfigureAwait(false));

    /// <summary>Reads the versions of the snapshots stored for <paramref name="streams"/>.</summary>
    public static Dictionary<StreamId, List<long>> ReadSnapshotVersions(DbContext context, IReadOnlyCollection<StreamId> streams)
        => streams.Count == 0 ? [] : ToSnapshotVersions(streams, SnapshotVersionsQuery(context, streams).ToList());

    /// <summary>Reads the versions of the snapshots stored for <paramref name="streams"/>.</summary>
    public static async Task<Dictionary<StreamId, List<long>>> ReadSnapshotVersionsAsync(
        DbContext context, IReadOnlyCollection<StreamId> streams, CancellationToken cancellationToken)
        => streams.Count == 0
            ? []
            : ToSnapshotVersions(streams, await SnapshotVersionsQuery(context, streams).ToListAsync(cancellationToken).ConfigureAwait(false));

    private static IQueryable<StreamVersion> SnapshotVersionsQuery(DbContext context, IReadOnlyCollection<StreamId> streams)
    {
        var types = streams.Select(s => s.Type).Distinct().ToArray();
        var ids = streams.Select(s => s.Id).Distinct().ToArray();
        return context.Set<StoredSnapshot>()
            .AsNoTracking()
            .Where(s => types.Contains(s.StreamType) && ids.Contains(s.StreamId))
            .Select(s => new StreamVersion(s.StreamType, s.StreamId, s.Version));
    }

    private static Dictionary<StreamId, List<long>> ToSnapshotVersions(IReadOnlyCollection<StreamId> streams, List<StreamVersion> rows)
    {
        var versions = streams.ToDictionary(s => s, _ => new List<long>());
        foreach (var row in rows)
        {
            if (versions.TryGetValue(new StreamId(row.Type, row.Id), out var list))
            {
                list.Add(row.Version);
            }
        }

        return versions;
    }

    private static IQueryable<StreamVersion> VersionsQuery(DbContext context, IReadOnlyCollection<StreamId> streams)
    {
        var types = streams.Select(s => s.Type).Distinct().ToArray();
        var ids = streams.Select(s => s.Id).Distinct().ToArray();
        return context.Set<StoredEvent>()
            .AsNoTracking()
            .Where(e => types.Contains(e.StreamType) && ids.Contains(e.StreamId))
            .GroupBy(e => new { e.StreamType, e.StreamId })
            .Select(g => new StreamVersion(g.Key.StreamType, g.Key.StreamId, g.Max(e => e.Sequence)));
    }

    private static IQueryable<EventLocation> LocationsQuery(DbContext context, IReadOnlyCollection<Guid> eventIds)
    {
        var ids = eventIds as Guid[] ?? eventIds.ToArray();
        return context.Set<StoredEvent>()
            .AsNoTracking()
            .Where(e => ids.Contains(e.EventId))
            .Select(e => new EventLocation(e.EventId, e.StreamType, e.StreamId, e.Sequence));
    }

    private static Dictionary<StreamId, long> ToVersions(IReadOnlyCollection<StreamId> streams, List<StreamVersion> rows)
    {
        var versions = streams.ToDictionary(s => s, _ => 0L);
        foreach (var row in rows)
        {
            var stream = new StreamId(row.Type, row.Id);
            if (versions.ContainsKey(stream))
            {
                versions[stream] = row.Version;
            }
        }

        return versions;
    }

    private static Dictionary<Guid, StoredLocation> ToLocations(List<EventLocation> rows)
    {
        var locations = new Dictionary<Guid, StoredLocation>(rows.Count);
        foreach (var row in rows)
        {
            locations.TryAdd(row.EventId, new StoredLocation(new StreamId(row.Type, row.Id), row.Version));
        }

        return locations;
    }

    private sealed record StreamVersion(string Type, string Id, long Version);

    private sealed record EventLocation(Guid EventId, string Type, string Id, long Version);
}
