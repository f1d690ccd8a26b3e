namespace EventSourcing.EFCore;

/// <summary>
/// What <c>ImportAsync</c> does when a feature a save would run applies to an imported event: an outbox route that
/// selects it, an inline projection that handles it, or a snapshot policy for its stream's type. An import writes only
/// the events.
/// </summary>
public enum ImportWritePathFeatures
{
    /// <summary>Refuse the import with an <see cref="InvalidOperationException"/> naming the feature; nothing is written.</summary>
    Refuse = 0,

    /// <summary>
    /// Write the events without them (no outbox message, no inline projection update, no snapshot), logged as
    /// <see cref="EventSourcingEventId.ImportSkippedWritePath"/>: rebuild the read models and publish what is needed.
    /// </summary>
    Skip = 1,
}
