using System.Collections.Concurrent;
using System.Diagnostics;
using EventSourcing.EFCore;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace BankLedger;

/// <summary>
/// The demo's --telemetry mode: the OpenTelemetry SDK with the console exporter, subscribed to the library's
/// ActivitySource and Meter (<c>AddSource("EventSourcing.EFCore")</c>, <c>AddMeter("EventSourcing.EFCore")</c>). To
/// keep the console readable, only one command's trace is exported: the command span, its save and load, the catch-up
/// batch that links to it and the outbox publish below it (the tellers' own spans are not sampled). Metrics are
/// exported once, at the end.
/// </summary>
public sealed class LedgerTelemetry : IDisposable
{
    public static readonly ActivitySource Commands = new("BankLedger");

    private readonly TracerProvider _traces;
    private readonly MeterProvider _metrics;
    private readonly ConcurrentQueue<Activity> _exported = new();

    public LedgerTelemetry()
    {
        _traces = Sdk.CreateTracerProviderBuilder()
            .AddSource(Commands.Name)
            .AddSource(EventSourcingDiagnostics.ActivitySourceName)
            .SetSampler(new CommandTraceSampler())
            .AddProcessor(new Collect(_exported))
            .AddConsoleExporter()
            .Build()!;
        _metrics = Sdk.CreateMeterProviderBuilder()
            .AddMeter(EventSourcingDiagnostics.MeterName)
            .AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 3_600_000) // once, at the end
            .Build()!;
    }

    /// <summary>Returns the names of the exported spans of <paramref name="traceId"/>, and of those that link to it.</summary>
    public (List<string> InTrace, List<string> Linked) SpansOf(ActivityTraceId traceId)
        => ([.. _exported.Where(a => a.TraceId == traceId).Select(a => a.DisplayName)],
            [.. _exported.Where(a => a.Links.Any(l => l.Context.TraceId == traceId)).Select(a => a.DisplayName)]);

    public void Dispose()
    {
        _traces.Dispose();
        _metrics.Dispose();
    }

    /// <summary>Samples the command spans and their descendants, and the catch-up batches (whose links name the commands).</summary>
    private sealed class CommandTraceSampler : Sampler
    {
        public override SamplingResult ShouldSample(in SamplingParameters parameters)
        {
            var parent = parameters.ParentContext;
            var sampled = parent.TraceId != default
                ? parent.TraceFlags.HasFlag(ActivityTraceFlags.Recorded)
                : parameters.Name == "eventsourcing.catch_up" || parameters.Name.EndsWith(" command", StringComparison.Ordinal);
            return new SamplingResult(sampled ? SamplingDecision.RecordAndSample : SamplingDecision.Drop);
        }
    }

    private sealed class Collect(ConcurrentQueue<Activity> exported) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data)
        {
            if (data.Recorded)
            {
                exported.Enqueue(data);
            }
        }
    }
}
