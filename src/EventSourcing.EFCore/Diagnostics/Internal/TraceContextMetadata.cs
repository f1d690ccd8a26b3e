using System.Diagnostics;

namespace EventSourcing.EFCore.Diagnostics.Internal;

/// <summary>
/// Stores the W3C trace context of the activity current at append time in an event's metadata
/// (<see cref="EventSourcingDiagnostics.TraceParentMetadataKey"/>, <see cref="EventSourcingDiagnostics.TraceStateMetadataKey"/>),
/// so catch-up projections and outbox publishes can link to, or continue, the trace that appended the event. A value the
/// caller supplied under either key is kept as it is. Without a current activity nothing is allocated.
/// </summary>
internal static class TraceContextMetadata
{
    /// <summary>Returns <paramref name="metadata"/> with the current trace context added, or unchanged when there is none.</summary>
    public static IReadOnlyDictionary<string, string>? Add(IReadOnlyDictionary<string, string>? metadata)
    {
        if (Activity.Current is not { IdFormat: ActivityIdFormat.W3C } current
            || (metadata is not null && metadata.ContainsKey(EventSourcingDiagnostics.TraceParentMetadataKey)))
        {
            return metadata;
        }

        var withTrace = metadata is null ? new Dictionary<string, string>(2, StringComparer.Ordinal) : new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        withTrace[EventSourcingDiagnostics.TraceParentMetadataKey] = current.Id!;
        if (current.TraceStateString is { Length: > 0 } state)
        {
            withTrace.TryAdd(EventSourcingDiagnostics.TraceStateMetadataKey, state);
        }

        return withTrace;
    }

    /// <summary>Reads the trace context stored in <paramref name="metadata"/>, or returns false when there is none (or it does not parse).</summary>
    public static bool TryRead(IReadOnlyDictionary<string, string> metadata, out ActivityContext context)
    {
        context = default;
        return metadata.TryGetValue(EventSourcingDiagnostics.TraceParentMetadataKey, out var parent)
               && ActivityContext.TryParse(parent, metadata.GetValueOrDefault(EventSourcingDiagnostics.TraceStateMetadataKey), isRemote: true, out context);
    }
}
