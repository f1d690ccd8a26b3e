using EventSourcing.EFCore.Aggregates.Internal;
using EventSourcing.EFCore.Testing.Internal;

namespace EventSourcing.EFCore.Testing;

/// <summary>
/// An aggregate specification: <see cref="Given"/> past events, <c>When</c> a command, then <see cref="Then"/> the
/// raised events or <see cref="ThenThrows{TException}"/>. A failed expectation throws
/// <see cref="AggregateSpecificationException"/> whose message lists the expected and the actual events.
/// </summary>
/// <typeparam name="TAggregate">An aggregate derived from <see cref="AggregateRoot{TId}"/>.</typeparam>
public sealed class AggregateSpecification<TAggregate>
    where TAggregate : class, IEventSourcedAggregate
{
    private readonly List<object> _given = [];
    private Action<TAggregate>? _command;
    private Func<TAggregate>? _create;

    internal AggregateSpecification()
    {
    }

    /// <summary>Gets the events the aggregate is built from before the command runs, in order.</summary>
    public IReadOnlyList<object> GivenEvents => _given;

    /// <summary>Adds past events: the aggregate is rebuilt from them (through its <c>Apply</c>/<c>On</c> handlers) before the command runs.</summary>
    /// <param name="events">The events, oldest first (an <see cref="EventData"/> stands for its <see cref="EventData.Data"/>).</param>
    /// <returns>This specification.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="events"/> or one of its items is null.</exception>
    public AggregateSpecification<TAggregate> Given(params object[] events)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
        {
            ArgumentNullException.ThrowIfNull(e, nameof(events));
            _given.Add(e is EventData data ? data.Data : e);
        }

        return this;
    }

    /// <summary>Sets the command: an action on the aggregate built from the given events.</summary>
    /// <param name="command">The command, for example <c>order =&gt; order.AddLine(5m)</c>.</param>
    /// <returns>This specification.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="command"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A command was already set.</exception>
    public AggregateSpecification<TAggregate> When(Action<TAggregate> command)
    {
        ArgumentNullException.ThrowIfNull(command);
        EnsureNoCommand();
        _command = command;
        return this;
    }

    /// <summary>Sets a creating command: a factory that returns a new aggregate (no given events allowed).</summary>
    /// <param name="create">The factory, for example <c>() =&gt; Order.Place(id, 10m)</c>.</param>
    /// <returns>This specification.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="create"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A command was already set.</exception>
    public AggregateSpecification<TAggregate> When(Func<TAggregate> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        EnsureNoCommand();
        _create = create;
        return this;
    }

    /// <summary>
    /// Runs the specification and checks that the command raised exactly <paramref name="expectedEvents"/>, in order
    /// (none: the command raised nothing). Events are equal when <see cref="object.Equals(object)"/> says so (records)
    /// or when they have the same type and the same JSON.
    /// </summary>
    /// <param name="expectedEvents">The events the command must raise, in order.</param>
    /// <returns>The aggregate after the command, for further checks of its state.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="expectedEvents"/> is null.</exception>
    /// <exception cref="InvalidOperationException">No command was set, or given events were combined with a creating command.</exception>
    /// <exception cref="AggregateSpecificationException">The raised events differ; the message lists both.</exception>
    public TAggregate Then(params object[] expectedEvents)
    {
        ArgumentNullException.ThrowIfNull(expectedEvents);
        var expected = expectedEvents.Select(e => e is EventData data ? data.Data : e).ToArray();
        var aggregate = Run(); // an exception thrown by the command propagates as is: the test fails with it
        var actual = Raised(aggregate);
        if (EventComparison.FirstDifference(expected, actual) is { } index)
        {
            throw new AggregateSpecificationException(
                SpecificationMessages.EventsDiffer(typeof(TAggregate), _given, expected, actual, index), expected, actual);
        }

        return aggregate;
    }

    /// <summary>Runs the specification and checks that the command threw <typeparamref name="TException"/> (or a type derived from it).</summary>
    /// <typeparam name="TException">The expected exception type.</typeparam>
    /// <returns>The exception, for further checks of its message and data.</returns>
    /// <exception cref="InvalidOperationException">No command was set, or given events were combined with a creating command.</exception>
    /// <exception cref="AggregateSpecificationException">The command completed without throwing; the message lists the events it raised.</exception>
    public TException ThenThrows<TException>()
        where TException : Exception
    {
        TAggregate aggregate;
        try
        {
            aggregate = Run();
        }
        catch (TException expected)
        {
            return expected;
        }

        var actual = Raised(aggregate);
        throw new AggregateSpecificationException(
            SpecificationMessages.DidNotThrow(typeof(TAggregate), typeof(TException), _given, actual), [], actual);
    }

    private TAggregate Run()
    {
        if (_create is not null)
        {
            if (_given.Count > 0)
            {
                throw new InvalidOperationException(SpecificationMessages.GivenWithCreatingCommand(typeof(TAggregate)));
            }

            return _create() ?? throw new InvalidOperationException(SpecificationMessages.CreateReturnedNull(typeof(TAggregate)));
        }

        var command = _command ?? throw new InvalidOperationException(SpecificationMessages.NoCommand(typeof(TAggregate)));
        var aggregate = AggregateFactory.For<TAggregate>()();
        if (aggregate is not IRehydratable rehydratable)
        {
            throw new InvalidOperationException(SpecificationMessages.NotRehydratable(typeof(TAggregate)));
        }

        foreach (var e in _given)
        {
            rehydratable.Replay(e);
        }

        command(aggregate);
        return aggregate;
    }

    private static object[] Raised(TAggregate aggregate)
        => aggregate.PendingEvents.Select(e => e is EventData data ? data.Data : e).ToArray();

    private void EnsureNoCommand()
    {
        if (_command is not null || _create is not null)
        {
            throw new InvalidOperationException(SpecificationMessages.CommandAlreadySet(typeof(TAggregate)));
        }
    }
}
