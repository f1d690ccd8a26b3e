namespace EventSourcing.EFCore;

/// <summary>
/// Gives an aggregate type the stable stream type its streams are stored under. Without it, the class name is used.
/// </summary>
/// <example>
/// <code>
/// [AggregateType("order")]
/// public sealed class Order : AggregateRoot&lt;Guid&gt; { … }
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class AggregateTypeAttribute : Attribute
{
    /// <summary>Names the aggregate type.</summary>
    /// <param name="name">The stable stream type; never change it once events are stored.</param>
    public AggregateTypeAttribute(string name) => Name = name;

    /// <summary>Gets the stable stream type.</summary>
    public string Name { get; }
}
