namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>What a dispatcher did with one leased row: published it, failed to, or gave it back unattempted.</summary>
internal enum OutboxOutcomeKind
{
    /// <summary>The publisher accepted the message.</summary>
    Published = 0,

    /// <summary>The publisher threw or timed out: a failed attempt.</summary>
    Failed = 1,

    /// <summary>Not attempted (stream stopped by an earlier failure, lease too short, cancellation): the attempt is given back.</summary>
    Released = 2,
}

/// <summary>The dispatcher's outcome for one leased row, before it is recorded.</summary>
internal sealed record OutboxOutcome(OutboxCandidate Message, OutboxOutcomeKind Kind, string? Error = null, Exception? Exception = null);

/// <summary>The state one leased row is in once its outcome was recorded.</summary>
internal enum OutboxRowState
{
    /// <summary>Marked dispatched.</summary>
    Dispatched,

    /// <summary>Failed; due again at the recorded time.</summary>
    Retrying,

    /// <summary>Failed on its last attempt: a dead letter.</summary>
    DeadLettered,

    /// <summary>Given back unattempted, due at once.</summary>
    Released,

    /// <summary>Not recorded: the lease was no longer this dispatcher's (it expired and another dispatcher claimed the row).</summary>
    LeaseLost,
}

/// <summary>One row's recorded state; <see cref="NextAttemptAt"/> is set when it is retrying.</summary>
internal readonly record struct OutboxMark(long Id, OutboxRowState State, DateTimeOffset? NextAttemptAt);
