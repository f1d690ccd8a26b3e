using EventSourcing.EFCore.Diagnostics.Internal;
namespace EventSourcing.EFCore;

/// <summary>
/// Thrown when an event to append is invalid (payload too large, non-UTC timestamp, empty id, bad metadata …).
/// <see cref="ArgumentException.ParamName"/> names the offending field. Nothing is written.
/// </summary>
public sealed class EventValidationException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="streamId">The stream the event was appended to.</param>
    /// <param name="eventIndex">The 0-based index of the event in its batch.</param>
    /// <param name="field">The offending field, for example <c>"Data"</c> or <c>"Timestamp"</c>.</param>
    /// <param name="reason">What is wrong with it.</param>
    public EventValidationException(StreamId streamId, int eventIndex, string field, string reason)
        : base(Messages.EventValidation(streamId, eventIndex, field, reason), field)
    {
        StreamId = streamId;
        EventIndex = eventIndex;
        Field = field;
    }

    /// <summary>Gets the stream the event was appended to.</summary>
    public StreamId StreamId { get; }

    /// <summary>Gets the 0-based index of the event in its batch.</summary>
    public int EventIndex { get; }

    /// <summary>Gets the offending field.</summary>
    public string Field { get; }
}
