using System.Text.Json;
using EventSourcing.EFCore.Aggregates.Internal;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.Snapshots.Internal;

/// <summary>
/// Loads the newest snapshot of a stream into a new aggregate, when it still fits the aggregate type: same stream type,
/// same <see cref="SnapshotVersionAttribute"/>, same shape fingerprint, and JSON that deserializes. A snapshot that does
/// not fit is ignored and logged (<see cref="EventSourcingEventId.SnapshotIgnored"/>).
/// </summary>
internal static class SnapshotReader
{
    /// <param name="context">The context to read with.</param>
    /// <param name="aggregateType">The aggregate type to restore.</param>
    /// <param name="streamId">The aggregate's stream.</param>
    /// <param name="maxVersion">The highest snapshot version usable (a point-in-time load), or null for the newest.</param>
    /// <param name="options">The event sourcing options (serializer).</param>
    /// <param name="logger">Where an ignored snapshot is reported.</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>The restored aggregate (or null), and whether a stored snapshot was ignored.</returns>
    public static async Task<(IEventSourcedAggregate? Aggregate, bool Ignored)> LoadAsync(
        DbContext context,
        Type aggregateType,
        StreamId streamId,
        long? maxVersion,
        EventSourcingOptionsExtension options,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        if (!SnapshotShape.Supports(aggregateType))
        {
            return (null, false);
        }

        var (type, id, max) = (streamId.Type, streamId.Id, maxVersion ?? long.MaxValue);
        var row = await context.Set<StoredSnapshot>()
            .AsNoTracking()
            .Where(s => s.StreamType == type && s.StreamId == id && s.Version <= max)
            .OrderByDescending(s => s.Version)
            .FirstOrDefaultAsync(cancellationToken)
            .ConfigureAwait(false);
        if (row is null)
        {
            return (null, false);
        }

        var shape = SnapshotShape.Of(aggregateType);
        string? problem = null;
        IEventSourcedAggregate? aggregate = null;
        if (row.SnapshotType != AggregateTypeName.Of(aggregateType))
        {
            problem = Messages.SnapshotWrittenByOtherType(row.SnapshotType);
        }
        else if (row.SchemaVersion != shape.SchemaVersion)
        {
            problem = Messages.SnapshotVersionChanged(row.SchemaVersion, shape.SchemaVersion);
        }
        else if (row.Fingerprint != shape.Fingerprint)
        {
            problem = Messages.SnapshotShapeChanged(row.Fingerprint, shape.Fingerprint);
        }
        else
        {
            try
            {
                aggregate = (IEventSourcedAggregate)options.SnapshotSerializer.Deserialize(aggregateType, row.State);
                if (aggregate.StreamId != streamId)
                {
                    problem = Messages.SnapshotOfOtherStream(aggregate.StreamId);
                    aggregate = null;
                }
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or InvalidCastException)
            {
                problem = Messages.SnapshotUnreadable(ex.Message);
            }
        }

        if (aggregate is null)
        {
            logger.SnapshotIgnored(streamId, row.Version, problem!);
            return (null, true);
        }

        ((IRehydratable)aggregate).RestoreVersion(row.Version);
        return (aggregate, false);
    }
}
