using EventSourcing.EFCore.Aggregates.Internal;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore;

/// <summary>
/// The base of an event-sourced aggregate: <see cref="Raise"/> records an event and applies it to the state at once;
/// loading replays stored events through the same handlers. Handlers are <c>Apply(TEvent)</c> methods (any
/// accessibility, found once per type and compiled) or <see cref="On{TEvent}"/> registrations made in the constructor.
/// </summary>
/// <typeparam name="TId">The id type: <see cref="Guid"/>, <see cref="string"/>, <see cref="int"/>, <see cref="long"/>,
/// or any type whose invariant <c>ToString()</c> identifies it.</typeparam>
/// <remarks>
/// Subclasses need a parameterless constructor (any accessibility) for rehydration, and the creation event's handler
/// sets <see cref="Id"/>. The stream type is <see cref="AggregateTypeAttribute"/>'s name or the class name.
/// </remarks>
public abstract class AggregateRoot<TId> : IEventSourcedAggregate, IRehydratable
    where TId : notnull
{
    private readonly List<object> _pendingEvents = [];
    private Dictionary<Type, Action<object>>? _registeredHandlers;
    private bool _readOnly;
    private IReadOnlyDictionary<Type, Action<object, object>>? _handlers; // this type's Apply methods, looked up once per instance

    /// <summary>Gets or sets the aggregate's id; set it in the creation event's handler.</summary>
    public TId Id { get; protected set; } = default!;

    /// <summary>Gets the number of the aggregate's events stored so far (0 for a new aggregate).</summary>
    public long Version { get; private set; }

    /// <summary>Gets the events raised since the aggregate was loaded or last saved, oldest first.</summary>
    public IReadOnlyList<object> PendingEvents => _pendingEvents;

    /// <summary>Gets the stream this aggregate's events are stored in.</summary>
    /// <exception cref="InvalidOperationException"><see cref="Id"/> is not set yet.</exception>
    public StreamId StreamId => Id is null || Id.Equals(default(TId)) || (Id is string s && s.Length == 0)
        ? throw new InvalidOperationException(Messages.AggregateIdNotSet(GetType()))
        : new StreamId(AggregateTypeName.Of(GetType()), AggregateTypeName.FormatId(Id));

    /// <summary>Gets a value indicating whether this is a read-only point-in-time view.</summary>
    public bool IsReadOnly => _readOnly;

    /// <summary>
    /// Gets a value indicating whether replaying a stored event without a handler skips it (true) or throws
    /// <see cref="EventHandlerMissingException"/> (false, the default). Raising such an event always throws.
    /// </summary>
    protected virtual bool IgnoreMissingHandlers => false;

    /// <summary>Records <paramref name="event"/> and applies it to the state; SaveChanges appends it.</summary>
    /// <param name="event">The event object, or an <see cref="EventData"/> that supplies its id or metadata.</param>
    /// <exception cref="ArgumentNullException"><paramref name="event"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The aggregate is a read-only point-in-time view.</exception>
    /// <exception cref="EventHandlerMissingException">The aggregate has no handler for the event.</exception>
    protected void Raise(object @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        if (_readOnly)
        {
            throw new InvalidOperationException(Messages.ReadOnlyAggregate(StreamId));
        }

        Dispatch(@event is EventData data ? data.Data : @event, raising: true);
        _pendingEvents.Add(@event);
    }

    /// <summary>Registers the handler of <typeparamref name="TEvent"/>; call it from the constructor.</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="handler">Applies the event to the state.</param>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is null.</exception>
    protected void On<TEvent>(Action<TEvent> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        (_registeredHandlers ??= [])[typeof(TEvent)] = e => handler((TEvent)e);
    }

    void IEventSourcedAggregate.OnEventsSaved(long version)
    {
        _pendingEvents.Clear();
        Version = version;
    }

    void IRehydratable.Replay(object @event)
    {
        Dispatch(@event, raising: false);
        Version++;
    }

    void IRehydratable.MarkReadOnly() => _readOnly = true;

    void IRehydratable.RestoreVersion(long version) => Version = version;

    private void Dispatch(object @event, bool raising)
    {
        var eventType = @event.GetType();
        if (_registeredHandlers is not null && _registeredHandlers.TryGetValue(eventType, out var registered))
        {
            registered(@event);
        }
        else if ((_handlers ??= AggregateHandlers.For(GetType())).TryGetValue(eventType, out var apply))
        {
            apply(this, @event);
        }
        else if (raising || !IgnoreMissingHandlers)
        {
            throw new EventHandlerMissingException(GetType(), eventType);
        }
    }
}
