namespace EventSourcing.EFCore;

/// <summary>The state of an outbox, from <c>db.Outbox().GetStatsAsync()</c>.</summary>
/// <param name="Pending">Messages not yet published (waiting, or retrying after a failure), dead letters excluded.</param>
/// <param name="Retrying">Pending messages that failed at least once.</param>
/// <param name="OldestPendingAge">How long the oldest pending message has waited; <see langword="null"/> when none is pending.</param>
/// <param name="DeadLetters">Messages whose attempts are exhausted; <c>RequeueAsync</c> puts one back.</param>
public sealed record OutboxStats(long Pending, long Retrying, TimeSpan? OldestPendingAge, long DeadLetters);
