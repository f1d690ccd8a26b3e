using EventSourcing.EFCore.Diagnostics.Internal;
namespace EventSourcing.EFCore;

/// <summary>
/// Thrown when an aggregate raises or replays an event it has no handler for (an <c>Apply(TEvent)</c> method or an
/// <c>On&lt;TEvent&gt;</c> registration). Replays can be told to skip such events by overriding
/// <see cref="AggregateRoot{TId}.IgnoreMissingHandlers"/>.
/// </summary>
public sealed class EventHandlerMissingException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="aggregateType">The aggregate's CLR type.</param>
    /// <param name="eventType">The event's CLR type.</param>
    public EventHandlerMissingException(Type aggregateType, Type eventType)
        : base(Messages.EventHandlerMissing(aggregateType, eventType))
    {
        AggregateType = aggregateType;
        EventType = eventType;
    }

    /// <summary>Gets the aggregate's CLR type.</summary>
    public Type AggregateType { get; }

    /// <summary>Gets the event's CLR type.</summary>
    public Type EventType { get; }
}
