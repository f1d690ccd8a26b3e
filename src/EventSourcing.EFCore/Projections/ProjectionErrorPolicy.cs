namespace EventSourcing.EFCore;

/// <summary>
/// What a catch-up projection does when one of its handlers fails on an event, or an event of a type it handles cannot
/// be read. Events of types the projection has no handler for are never read, so they never fail it.
/// </summary>
public enum ProjectionErrorPolicy
{
    /// <summary>
    /// The default: the batch is not saved, the checkpoint stays before the event, and catching up throws
    /// <see cref="ProjectionFailedException"/> (the hosted service logs it and tries again later).
    /// </summary>
    Stop = 0,

    /// <summary>
    /// The event's read-model changes are discarded, the event is recorded with its error as a
    /// <see cref="Storage.ProjectionDeadLetter"/> in the same save as the batch, a warning is logged, and the projection
    /// carries on. Replay the recorded events with <c>db.Projections().ReplayDeadLettersAsync(name)</c> once fixed.
    /// </summary>
    DeadLetter = 1,
}
