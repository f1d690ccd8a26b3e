namespace EventSourcing.EFCore;

/// <summary>
/// The names under which EventSourcing.EFCore reports traces and metrics: subscribe with OpenTelemetry's
/// <c>AddSource(EventSourcingDiagnostics.ActivitySourceName)</c> and <c>AddMeter(EventSourcingDiagnostics.MeterName)</c>.
/// Nothing is measured or allocated for tracing while nobody listens.
/// </summary>
public static class EventSourcingDiagnostics
{
    /// <summary>The name of the library's <c>System.Diagnostics.ActivitySource</c>: <c>EventSourcing.EFCore</c>.</summary>
    public const string ActivitySourceName = "EventSourcing.EFCore";

    /// <summary>The name of the library's <c>System.Diagnostics.Metrics.Meter</c>: <c>EventSourcing.EFCore</c>.</summary>
    public const string MeterName = "EventSourcing.EFCore";

    /// <summary>
    /// The metadata key under which an appended event stores the W3C <c>traceparent</c> of the activity current when it
    /// was appended (and the outbox header that carries it). A value the caller put there is never overwritten.
    /// </summary>
    public const string TraceParentMetadataKey = "traceparent";

    /// <summary>The metadata key under which an appended event stores the W3C <c>tracestate</c>, when the activity has one.</summary>
    public const string TraceStateMetadataKey = "tracestate";
}
