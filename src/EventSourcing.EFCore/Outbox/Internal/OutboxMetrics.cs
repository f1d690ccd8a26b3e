using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// The outbox's metrics (meter <c>EventSourcing.EFCore.Outbox</c>): counters of published, failed and dead-lettered
/// messages (tagged with the destination), and gauges of pending messages, the oldest pending message's age and dead
/// letters, as last read by a hosted dispatcher (tagged with the DbContext type).
/// </summary>
internal static class OutboxMetrics
{
    public const string MeterName = "EventSourcing.EFCore.Outbox";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<string, OutboxStats> LastStats = new();

    private static readonly Counter<long> Published = Meter.CreateCounter<long>("eventsourcing.outbox.published", "{message}", "Messages the publisher accepted.");
    private static readonly Counter<long> Failed = Meter.CreateCounter<long>("eventsourcing.outbox.failed", "{message}", "Publish attempts that failed (retried or dead-lettered).");
    private static readonly Counter<long> DeadLettered = Meter.CreateCounter<long>("eventsourcing.outbox.dead_lettered", "{message}", "Messages that exhausted their attempts.");

    static OutboxMetrics()
    {
        Meter.CreateObservableGauge("eventsourcing.outbox.pending", () => Observe(s => s.Pending), "{message}", "Messages not yet published, dead letters excluded.");
        Meter.CreateObservableGauge("eventsourcing.outbox.oldest_pending_age", () => Observe(s => s.OldestPendingAge?.TotalSeconds ?? 0), "s", "Age of the oldest pending message.");
        Meter.CreateObservableGauge("eventsourcing.outbox.dead_letters", () => Observe(s => s.DeadLetters), "{message}", "Messages whose attempts are exhausted.");
    }

    public static void Record(OutboxRowState state, string destination)
    {
        var tag = new KeyValuePair<string, object?>("destination", destination);
        switch (state)
        {
            case OutboxRowState.Dispatched:
                Published.Add(1, tag);
                break;
            case OutboxRowState.Retrying:
                Failed.Add(1, tag);
                break;
            case OutboxRowState.DeadLettered:
                Failed.Add(1, tag);
                DeadLettered.Add(1, tag);
                break;
        }
    }

    /// <summary>Counts a message dead-lettered at claim time (its last attempt's lease expired unrecorded).</summary>
    public static void RecordDeadLetterAtClaim(string destination)
    {
        var tag = new KeyValuePair<string, object?>("destination", destination);
        Failed.Add(1, tag);
        DeadLettered.Add(1, tag);
    }

    public static void Report(string contextType, OutboxStats stats) => LastStats[contextType] = stats;

    private static IEnumerable<Measurement<T>> Observe<T>(Func<OutboxStats, T> value)
        where T : struct
        => LastStats.Select(p => new Measurement<T>(value(p.Value), new TagList { { "context", p.Key } }));
}
