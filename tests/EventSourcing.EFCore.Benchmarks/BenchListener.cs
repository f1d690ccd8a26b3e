using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>
/// The <c>--listen</c> switch: an <see cref="ActivityListener"/> that samples every span of the library (all data,
/// recorded) and a <see cref="MeterListener"/> that enables every instrument of its meter, both doing the least a real
/// exporter does (counting what they receive), so a run measures the cost of the library's telemetry when observed.
/// </summary>
public sealed class BenchListener : IDisposable
{
    private readonly ActivityListener _activities;
    private readonly MeterListener _meters = new();
    private long _spans;
    private long _measurements;

    public BenchListener()
    {
        _activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name == EventSourcingDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _ => Interlocked.Increment(ref _spans),
        };
        ActivitySource.AddActivityListener(_activities);
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == EventSourcingDiagnostics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meters.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meters.Start();
    }

    public string Summary => $"listener attached: {Interlocked.Read(ref _spans)} spans, {Interlocked.Read(ref _measurements)} measurements received";

    public void Dispose()
    {
        _activities.Dispose();
        _meters.Dispose();
    }
}
