namespace EventSourcing.EFCore;

/// <summary>How far a catch-up projection is behind the store, from <c>db.Projections().GetLagAsync(name)</c>.</summary>
/// <param name="Projection">The projection's name.</param>
/// <param name="Checkpoint">The projection's committed checkpoint (<see cref="GlobalCheckpoint.Start"/> before its first batch).</param>
/// <param name="EventsBehind">
/// The number of committed events of the types the projection handles after the checkpoint (0 when caught up); events of
/// other types are never read by the projection and are not counted.
/// </param>
/// <param name="TimeBehind">The age of the oldest of those events (zero when caught up).</param>
/// <param name="UpdatedAt">When the checkpoint was last written (UTC), or <see langword="null"/> when the projection never ran.</param>
public readonly record struct ProjectionLag(
    string Projection,
    GlobalCheckpoint Checkpoint,
    long EventsBehind,
    TimeSpan TimeBehind,
    DateTimeOffset? UpdatedAt)
{
    /// <summary>
    /// Gets the number of events the projection skipped and recorded as <see cref="Storage.ProjectionDeadLetter"/> rows
    /// under <see cref="ProjectionErrorPolicy.DeadLetter"/> and that are still recorded (0 under the default policy).
    /// </summary>
    public long DeadLetters { get; init; }

    /// <summary>
    /// Gets the open transaction that keeps committed events after the checkpoint from read-all (PostgreSQL), or
    /// <see langword="null"/> when none does: who holds the store back, with its age.
    /// </summary>
    public ReadHorizonHolder? HeldBackBy { get; init; }

    /// <summary>Gets <see cref="TimeBehind"/> in seconds.</summary>
    public double SecondsBehind => TimeBehind.TotalSeconds;

    /// <summary>Gets a value indicating whether the projection has applied every committed event.</summary>
    public bool IsCaughtUp => EventsBehind == 0;
}
