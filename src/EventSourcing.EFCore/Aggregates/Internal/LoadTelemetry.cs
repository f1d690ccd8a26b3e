using System.Diagnostics;
using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Aggregates.Internal;

/// <summary>
/// The span (<c>eventsourcing.load</c>) and measurements of one aggregate load: stream, snapshot used (and its version)
/// or missed, events replayed, duration. Null when nobody listens; a load that ends without <see cref="Complete"/> (it
/// threw) ends its span with status Error.
/// </summary>
internal sealed class LoadTelemetry : IDisposable
{
    private readonly EventSourcingMetrics _metrics;
    private readonly Activity? _activity;
    private readonly long _started = Stopwatch.GetTimestamp();
    private bool _completed;

    private LoadTelemetry(EventSourcingMetrics metrics, StreamId streamId)
    {
        _metrics = metrics;
        _activity = EventSourcingActivitySource.Source.StartActivity(EventSourcingActivitySource.LoadSpan, ActivityKind.Internal);
        _activity?.SetTag(EventSourcingActivitySource.StreamType, streamId.Type);
        _activity?.SetTag(EventSourcingActivitySource.StreamId, streamId.Id);
    }

    /// <summary>Starts the telemetry of a load of <paramref name="streamId"/>, or returns null when nobody listens.</summary>
    public static LoadTelemetry? Start(DbContext context, StreamId streamId)
    {
        var metrics = EventSourcingMetrics.Of(context);
        return EventSourcingActivitySource.Source.HasListeners() || metrics.LoadDuration.Enabled || metrics.EventsReplayed.Enabled
               || metrics.SnapshotHits.Enabled || metrics.SnapshotMisses.Enabled
            ? new LoadTelemetry(metrics, streamId)
            : null;
    }

    /// <summary>Records what the snapshot read found: a snapshot at <paramref name="version"/>, or none for a snapshot-capable type.</summary>
    public void Snapshot(long? version, bool snapshotCapable)
    {
        if (version is { } v)
        {
            if (_metrics.SnapshotHits.Enabled)
            {
                _metrics.SnapshotHits.Add(1);
            }

            _activity?.SetTag(EventSourcingActivitySource.SnapshotVersion, v);
        }
        else if (snapshotCapable && _metrics.SnapshotMisses.Enabled)
        {
            _metrics.SnapshotMisses.Add(1);
        }

        _activity?.SetTag(EventSourcingActivitySource.SnapshotUsed, version is not null);
    }

    /// <summary>The load succeeded after replaying <paramref name="replayed"/> events.</summary>
    public void Complete(long replayed)
    {
        _completed = true;
        if (_metrics.EventsReplayed.Enabled)
        {
            _metrics.EventsReplayed.Record(replayed);
        }

        if (_metrics.LoadDuration.Enabled)
        {
            _metrics.LoadDuration.Record(EventSourcingMetrics.SecondsSince(_started));
        }

        _activity?.SetTag(EventSourcingActivitySource.EventsReplayed, replayed);
    }

    public void Dispose()
    {
        if (_activity is not null)
        {
            _activity.SetStatus(_completed ? ActivityStatusCode.Ok : ActivityStatusCode.Error);
            _activity.Dispose();
        }
    }
}
