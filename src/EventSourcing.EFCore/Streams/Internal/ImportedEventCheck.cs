using EventSourcing.EFCore.Aggregates.Internal;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Serialization.Internal;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// What a bulk import does not run that a save would: outbox routes, inline projections and snapshot policies. Each
/// imported event is checked before it is written: when one of them applies, the import is refused (nothing is
/// written), unless the caller chose to import without them, and then it is counted and logged once.
/// </summary>
internal sealed class ImportedEventCheck(EventSourcingOptionsExtension options, bool skip)
{
    private readonly HashSet<string> _snapshotStreamTypes = options.SnapshotPolicies.Keys.Select(AggregateTypeName.Of).ToHashSet(StringComparer.Ordinal);

    /// <summary>Gets the first feature an import without them skipped, or null.</summary>
    public string? FirstSkipped { get; private set; }

    /// <summary>Gets the number of imported events a skipped feature applied to.</summary>
    public long SkippedEvents { get; private set; }

    public void Check(StreamId streamId, long version, PreparedEvent e)
    {
        if (Applies(streamId, version, e) is not { } feature)
        {
            return;
        }

        if (!skip)
        {
            throw new InvalidOperationException(Messages.ImportWouldSkip(streamId, version, e.EventType, feature));
        }

        FirstSkipped ??= feature;
        SkippedEvents++;
    }

    private string? Applies(StreamId streamId, long version, PreparedEvent e)
    {
        foreach (var registration in options.Projections)
        {
            if (registration.IsInline && registration.Projection.Handles(e.Data.GetType()))
            {
                return $"inline projection '{registration.Projection.Name}'";
            }
        }

        if (options.DefaultSnapshotPolicy is not null || _snapshotStreamTypes.Contains(streamId.Type))
        {
            return "a snapshot policy";
        }

        if (options.Outbox is { Routes.IsEmpty: false } outbox)
        {
            var recorded = new RecordedEvent(
                streamId, version, 0, default, e.EventId, e.EventType, e.EventTypeVersion, e.Data, EventSerializer.DeserializeMetadata(e.Metadata), e.Timestamp);
            foreach (var route in outbox.Routes)
            {
                if (route.Predicate(recorded))
                {
                    return $"the outbox route to '{route.Destination}'";
                }
            }
        }

        return null;
    }
}
