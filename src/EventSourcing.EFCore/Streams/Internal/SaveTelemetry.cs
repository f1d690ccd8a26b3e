using System.Diagnostics;
using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// The span (<c>eventsourcing.save</c>) and measurements of one save that appends events, from planning its appends to
/// EF's outcome. Created only when someone listens to the activity source or to a save instrument; otherwise the save
/// carries null and pays nothing. The span is not made <see cref="Activity.Current"/>: it covers several EF interceptor
/// calls, and the caller's own activity stays current.
/// </summary>
internal sealed class SaveTelemetry
{
    private readonly EventSourcingMetrics _metrics;
    private readonly Activity? _activity;
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly int _events;
    private bool _ended;

    private SaveTelemetry(EventSourcingMetrics metrics, IReadOnlyList<PendingAppend> batches)
    {
        _metrics = metrics;
        foreach (var batch in batches)
        {
            _events += batch.Events.Count;
        }

        var current = Activity.Current;
        _activity = EventSourcingActivitySource.Source.StartActivity(EventSourcingActivitySource.SaveSpan, ActivityKind.Internal);
        if (_activity is not null)
        {
            Activity.Current = current;
            _activity.SetTag(EventSourcingActivitySource.StreamsCount, batches.Select(b => b.StreamId).Distinct().Count());
            _activity.SetTag(EventSourcingActivitySource.EventsCount, _events);
        }
    }

    /// <summary>Starts the telemetry of a save of <paramref name="batches"/>, or returns null when nobody listens or nothing is appended.</summary>
    public static SaveTelemetry? Start(DbContext context, IReadOnlyList<PendingAppend> batches)
    {
        var metrics = EventSourcingMetrics.Of(context);
        if (!EventSourcingActivitySource.Source.HasListeners()
            && !metrics.SaveDuration.Enabled && !metrics.Saves.Enabled && !metrics.EventsAppended.Enabled && !metrics.Conflicts.Enabled)
        {
            return null;
        }

        foreach (var batch in batches)
        {
            if (batch.Events.Count > 0)
            {
                return new SaveTelemetry(metrics, batches);
            }
        }

        return null;
    }

    /// <summary>EF wrote the save: counts it and its events, records its duration, ends the span.</summary>
    public void Succeeded()
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        if (_metrics.Saves.Enabled)
        {
            _metrics.Saves.Add(1);
        }

        if (_metrics.EventsAppended.Enabled)
        {
            _metrics.EventsAppended.Add(_events);
        }

        if (_metrics.SaveDuration.Enabled)
        {
            _metrics.SaveDuration.Record(EventSourcingMetrics.SecondsSince(_started));
        }

        if (_activity is not null)
        {
            _activity.SetStatus(ActivityStatusCode.Ok);
            EventSourcingActivitySource.StopDetached(_activity);
        }
    }

    /// <summary>The save failed with <paramref name="exception"/> (the typed append conflict, when it is one): records it, ends the span.</summary>
    public void Failed(Exception exception)
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        var kind = ConflictKinds.Of(exception);
        if (kind is not null && _metrics.Conflicts.Enabled)
        {
            _metrics.Conflicts.Add(1, new KeyValuePair<string, object?>(EventSourcingActivitySource.ConflictKind, kind));
        }

        if (_metrics.SaveDuration.Enabled)
        {
            _metrics.SaveDuration.Record(
                EventSourcingMetrics.SecondsSince(_started), new KeyValuePair<string, object?>(EventSourcingActivitySource.ErrorType, exception.GetType().FullName));
        }

        if (_activity is not null)
        {
            EventSourcingActivitySource.Fail(_activity, exception);
            EventSourcingActivitySource.StopDetached(_activity);
        }
    }
}
