namespace EventSourcing.EFCore.Diagnostics.Internal;

/// <summary>The <c>eventsourcing.conflict.kind</c> of an append conflict, as tagged on the save span and the conflicts counter.</summary>
internal static class ConflictKinds
{
    public const string Version = "version";
    public const string DuplicateEventId = "duplicate_event_id";
    public const string AlreadyAppended = "already_appended";

    /// <summary>Returns the conflict kind of <paramref name="exception"/>, or null when it is no append conflict.</summary>
    public static string? Of(Exception exception) => exception switch
    {
        StreamConcurrencyException => Version,
        DuplicateEventIdException => DuplicateEventId,
        EventsAlreadyAppendedException => AlreadyAppended,
        _ => null,
    };
}
