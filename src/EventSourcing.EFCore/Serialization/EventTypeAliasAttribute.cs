namespace EventSourcing.EFCore;

/// <summary>
/// Reads events stored under an earlier name of an event type as this type, after the type was renamed in code:
/// <c>[EventType("order.placed")] [EventTypeAlias("order-placed")]</c>. New events are stored under the current name;
/// rows under the alias keep their stored version, so upcasters of the current name apply to them.
/// </summary>
/// <remarks>The same as <c>MapEvent&lt;T&gt;("order.placed", aliases: "order-placed")</c>.</remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false, AllowMultiple = true)]
public sealed class EventTypeAliasAttribute : Attribute
{
    /// <summary>Declares an earlier stored name of the type.</summary>
    /// <param name="name">The name events of this type were stored under before the rename.</param>
    public EventTypeAliasAttribute(string name) => Name = name;

    /// <summary>Gets the earlier stored name.</summary>
    public string Name { get; }
}
