using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>Counts what became of each publish attempt (published, failed, dead-lettered), tagged with the destination.</summary>
internal static class OutboxOutcomeMetrics
{
    public static void Record(EventSourcingMetrics metrics, OutboxRowState state, string destination)
    {
        switch (state)
        {
            case OutboxRowState.Dispatched when metrics.Published.Enabled:
                metrics.Published.Add(1, Tag(destination));
                break;
            case OutboxRowState.Retrying when metrics.PublishFailed.Enabled:
                metrics.PublishFailed.Add(1, Tag(destination));
                break;
            case OutboxRowState.DeadLettered:
                RecordDeadLetterAtClaim(metrics, destination);
                break;
        }
    }

    /// <summary>Counts a message dead-lettered (after a failed attempt, or at claim time when its last attempt's lease expired unrecorded).</summary>
    public static void RecordDeadLetterAtClaim(EventSourcingMetrics metrics, string destination)
    {
        if (metrics.PublishFailed.Enabled)
        {
            metrics.PublishFailed.Add(1, Tag(destination));
        }

        if (metrics.DeadLettered.Enabled)
        {
            metrics.DeadLettered.Add(1, Tag(destination));
        }
    }

    private static KeyValuePair<string, object?> Tag(string destination) => new(EventSourcingActivitySource.MessagingDestination, destination);
}
