namespace EventSourcing.EFCore;

/// <summary>
/// Gives an event type the stable name it is stored under. <c>AddEvents(assembly)</c> registers every type that carries it.
/// </summary>
/// <example>
/// <code>
/// [EventType("order.placed", Version = 2)]
/// public sealed record OrderPlaced(Guid OrderId, decimal Amount);
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class EventTypeAttribute : Attribute
{
    /// <summary>Names the event type.</summary>
    /// <param name="name">The stable name stored with each event; never change it once events are stored.</param>
    public EventTypeAttribute(string name) => Name = name;

    /// <summary>Gets the stable stored name.</summary>
    public string Name { get; }

    /// <summary>Gets or sets the schema version of the event type (default 1), stored with each event.</summary>
    public int Version { get; set; } = 1;
}
