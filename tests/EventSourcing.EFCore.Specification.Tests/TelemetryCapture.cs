using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Captures the library's spans (a process-wide <see cref="ActivityListener"/>; tests filter them by their own trace id,
/// stream id or projection name) and the measurements of the meters created by this capture's own
/// <see cref="IMeterFactory"/> (so parallel suites never see each other's measurements).
/// </summary>
public sealed class TelemetryCapture : IMeterFactory
{
    public const string TestSourceName = "EventSourcing.EFCore.Specification.Tests";

    public static readonly ActivitySource TestSource = new(TestSourceName);

    private readonly ActivityListener _activities;
    private readonly MeterListener _meters = new();
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ConcurrentQueue<Activity> _started = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> _measurements = new();
    private readonly List<Meter> _created = [];
    private readonly ConcurrentDictionary<string, Instrument> _instruments = new(StringComparer.Ordinal);

    public TelemetryCapture()
    {
        _activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name == EventSourcingDiagnostics.ActivitySourceName || s.Name == TestSourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = a => _started.Enqueue(a),
            ActivityStopped = a => _stopped.Enqueue(a),
        };
        ActivitySource.AddActivityListener(_activities);
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            lock (_created)
            {
                if (_created.Contains(instrument.Meter))
                {
                    _instruments[instrument.Name] = instrument;
                    listener.EnableMeasurementEvents(instrument);
                }
            }
        };
        _meters.SetMeasurementEventCallback<long>((i, v, tags, _) => _measurements.Enqueue((i.Name, v, tags.ToArray())));
        _meters.SetMeasurementEventCallback<double>((i, v, tags, _) => _measurements.Enqueue((i.Name, v, tags.ToArray())));
        _meters.Start();
        Services = new CaptureServices(this);
    }

    /// <summary>Gets an application service provider whose <see cref="IMeterFactory"/> is this capture.</summary>
    public IServiceProvider Services { get; }

    public IReadOnlyList<Activity> Spans => [.. _stopped];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (_created)
        {
            _created.Add(meter);
        }

        return meter;
    }

    /// <summary>Returns the spans named <paramref name="name"/> (a prefix for publish spans) of the trace <paramref name="traceId"/>.</summary>
    public List<Activity> SpansOf(ActivityTraceId traceId, string name)
        => Spans.Where(a => a.TraceId == traceId && a.OperationName.StartsWith(name, StringComparison.Ordinal)).ToList();

    /// <summary>Returns the spans named <paramref name="name"/> of the trace <paramref name="traceId"/> that were started, ended or not.</summary>
    public List<Activity> StartedOf(ActivityTraceId traceId, string name)
        => _started.Where(a => a.TraceId == traceId && a.OperationName.StartsWith(name, StringComparison.Ordinal)).ToList();

    /// <summary>Returns the values recorded by <paramref name="instrument"/> (observable instruments are observed first).</summary>
    public List<(double Value, Dictionary<string, object?> Tags)> Measurements(string instrument)
    {
        _meters.RecordObservableInstruments();
        return _measurements.Where(m => m.Instrument == instrument).Select(m => (m.Value, m.Tags.ToDictionary(t => t.Key, t => t.Value))).ToList();
    }

    /// <summary>Returns the instrument named <paramref name="name"/> on this capture's meters (its unit, description, kind).</summary>
    public Instrument Instrument(string name) => _instruments[name];

    /// <summary>Observes the gauges and returns the last value <paramref name="instrument"/> reported for <paramref name="projection"/>, with its tags.</summary>
    public (double Value, Dictionary<string, object?> Tags) LastOf(string instrument, string projection)
        => Measurements(instrument).Last(m => Equals(m.Tags.GetValueOrDefault("eventsourcing.projection.name"), projection));

    public void Dispose()
    {
        _activities.Dispose();
        _meters.Dispose();
        lock (_created)
        {
            foreach (var meter in _created)
            {
                meter.Dispose();
            }
        }
    }

    private sealed class CaptureServices(TelemetryCapture capture) : IServiceProvider
    {
        public object? GetService(Type serviceType) => serviceType == typeof(IMeterFactory) ? capture : null;
    }
}
