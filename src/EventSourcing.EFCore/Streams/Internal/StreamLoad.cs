using EventSourcing.EFCore.Snapshots.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// One aggregate load as a backend sees it: the stream, the last version to read, the snapshot it may start from
/// (<see cref="Snapshot"/>; null: no snapshot lookup, the events from the first), and where the rows go. A backend reads
/// the newest snapshot at or below <see cref="ToVersion"/> and hands it to <see cref="OnSnapshot"/>, which answers the
/// version the events must start at, then hands the events from there to <see cref="OnEvent"/> in version order.
/// </summary>
internal abstract class StreamLoad(StreamId streamId, long toVersion, SnapshotExpectation? snapshot)
{
    public StreamId StreamId { get; } = streamId;

    public long ToVersion { get; } = toVersion;

    public SnapshotExpectation? Snapshot { get; } = snapshot;

    /// <summary>Takes the newest snapshot; returns the version the events must start at: its version + 1 when it was used, else 1.</summary>
    public abstract long OnSnapshot(SnapshotRow row);

    /// <summary>Takes one event (<see cref="ReplayRow.CreatedAt"/> may be unset); returns false to stop reading.</summary>
    public abstract bool OnEvent(ReplayRow row);

    /// <summary>
    /// Reads the load with EF queries: the snapshot, then the events from the version <see cref="OnSnapshot"/> answers
    /// (two round trips; what every backend without a single-statement read does).
    /// </summary>
    public static async Task ReadWithQueriesAsync(DbContext context, StreamLoad load, CancellationToken cancellationToken)
    {
        var from = 1L;
        if (load.Snapshot is not null
            && await SnapshotReader.FindNewestAsync(context, load.StreamId, load.ToVersion, cancellationToken).ConfigureAwait(false) is { } row)
        {
            from = load.OnSnapshot(row);
        }

        if (from <= load.ToVersion)
        {
            await CompiledEventQueries.ReplayAsync(context, load.StreamId, from, load.ToVersion, load.OnEvent, cancellationToken).ConfigureAwait(false);
        }
    }
}
