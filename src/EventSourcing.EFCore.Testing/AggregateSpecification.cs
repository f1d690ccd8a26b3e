namespace EventSourcing.EFCore.Testing;

/// <summary>
/// Starts an aggregate specification: given past events, when a command runs on the aggregate, then these events were
/// raised, or this exception was thrown. No database is involved: the given events are applied through the aggregate's
/// own handlers, exactly as a load replays them.
/// </summary>
/// <example>
/// <code>
/// AggregateSpecification.For&lt;Order&gt;()
///     .Given(new OrderPlaced(id, 10m))
///     .When(order => order.AddLine(5m))
///     .Then(new LineAdded(5m));
/// </code>
/// </example>
public static class AggregateSpecification
{
    /// <summary>Starts a specification of <typeparamref name="TAggregate"/>.</summary>
    /// <typeparam name="TAggregate">An aggregate derived from <see cref="AggregateRoot{TId}"/>, with a parameterless constructor (any accessibility).</typeparam>
    /// <returns>A specification with no given events and no command yet.</returns>
    public static AggregateSpecification<TAggregate> For<TAggregate>()
        where TAggregate : class, IEventSourcedAggregate
        => new();
}
