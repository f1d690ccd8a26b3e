using System.Collections.Concurrent;
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
/// Restores a new aggregate from the newest snapshot of its stream, when it still fits the aggregate type: same stream
/// type, same <see cref="SnapshotVersionAttribute"/>, same shape fingerprint, and JSON that deserializes into an aggregate
/// of the same stream. A snapshot that does not fit is ignored and logged (<see cref="EventSourcingEventId.SnapshotIgnored"/>).
/// </summary>
internal static class SnapshotReader
{
    private static readonly ConcurrentDictionary<Type, SnapshotExpectation?> Expectations = new();

    /// <summary>Returns what a usable snapshot of <paramref name="aggregateType"/> records, or null when the type cannot be snapshotted.</summary>
    public static SnapshotExpectation? ExpectationOf(Type aggregateType)
        => Expectations.GetOrAdd(aggregateType, static t =>
        {
            if (!SnapshotShape.Supports(t))
            {
                return null;
            }

            var shape = SnapshotShape.Of(t);
            return new SnapshotExpectation(AggregateTypeName.Of(t), shape.SchemaVersion, shape.Fingerprint);
        });

    /// <summary>Reads the newest snapshot row of <paramref name="streamId"/> at or below <paramref name="maxVersion"/> with an EF query.</summary>
    public static async Task<SnapshotRow?> FindNewestAsync(DbContext context, StreamId streamId, long maxVersion, CancellationToken cancellationToken)
    {
        var (type, id) = (streamId.Type, streamId.Id);
        var row = await context.Set<StoredSnapshot>()
            .AsNoTracking()
            .Where(s => s.StreamType == type && s.StreamId == id && s.Version <= maxVersion)
            .OrderByDescending(s => s.Version)
            .FirstOrDefaultAsync(cancellationToken)
            .ConfigureAwait(false);
        return row is null ? null : new SnapshotRow(row.Version, row.SnapshotType, row.SchemaVersion, row.Fingerprint, row.State);
    }

    /// <summary>
    /// Restores an aggregate of <paramref name="aggregateType"/> from <paramref name="row"/> at the row's version, or
    /// returns null (and logs why) when the snapshot does not fit.
    /// </summary>
    /// <param name="aggregateType">The aggregate type to restore.</param>
    /// <param name="streamId">The aggregate's stream.</param>
    /// <param name="row">The stored snapshot.</param>
    /// <param name="options">The event sourcing options (serializer).</param>
    /// <param name="logger">Where an ignored snapshot is reported.</param>
    public static IEventSourcedAggregate? Restore(Type aggregateType, StreamId streamId, SnapshotRow row, EventSourcingOptionsExtension options, ILogger logger)
    {
        var expected = ExpectationOf(aggregateType)!;
        string? problem = null;
        IEventSourcedAggregate? aggregate = null;
        if (row.SnapshotType != expected.SnapshotType)
        {
            problem = Messages.SnapshotWrittenByOtherType(row.SnapshotType);
        }
        else if (row.SchemaVersion != expected.SchemaVersion)
        {
            problem = Messages.SnapshotVersionChanged(row.SchemaVersion, expected.SchemaVersion);
        }
        else if (row.Fingerprint != expected.Fingerprint)
        {
            problem = Messages.SnapshotShapeChanged(row.Fingerprint, expected.Fingerprint);
        }
        else if (row.State is null)
        {
            problem = Messages.SnapshotUnreadable("the state is null.");
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
            return null;
        }

        ((IRehydratable)aggregate).RestoreVersion(row.Version);
        return aggregate;
    }
}
