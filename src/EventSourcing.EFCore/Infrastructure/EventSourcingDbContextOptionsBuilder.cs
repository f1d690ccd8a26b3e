using System.Reflection;
using System.Text.Json;
using EventSourcing.EFCore.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace EventSourcing.EFCore.Infrastructure;

/// <summary>
/// Configures event sourcing for a DbContext: which event types exist and under which stable names, size limits and
/// serialization. Obtained from <c>UseEventSourcing(es => …)</c>.
/// </summary>
public sealed class EventSourcingDbContextOptionsBuilder : IEventSourcingDbContextOptionsBuilderInfrastructure
{
    private readonly DbContextOptionsBuilder _optionsBuilder;

    internal EventSourcingDbContextOptionsBuilder(DbContextOptionsBuilder optionsBuilder) => _optionsBuilder = optionsBuilder;

    DbContextOptionsBuilder IEventSourcingDbContextOptionsBuilderInfrastructure.OptionsBuilder => _optionsBuilder;

    /// <summary>Registers every type in <paramref name="assembly"/> that carries <see cref="EventTypeAttribute"/>.</summary>
    /// <param name="assembly">The assembly to scan (once per process).</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="assembly"/> is null.</exception>
    public EventSourcingDbContextOptionsBuilder AddEvents(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        return WithOption(e => e.WithEventAssembly(assembly));
    }

    /// <summary>Registers <typeparamref name="TEvent"/> under the stable name <paramref name="name"/>.</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="name">The stable name stored with each event of this type.</param>
    /// <param name="version">The schema version of the event type (default 1).</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="InvalidOperationException">The name is not usable or the version is below 1.</exception>
    public EventSourcingDbContextOptionsBuilder MapEvent<TEvent>(string name, int version = 1)
        => MapEvent(typeof(TEvent), name, version);

    /// <summary>Registers <paramref name="eventType"/> under the stable name <paramref name="name"/>.</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="name">The stable name stored with each event of this type.</param>
    /// <param name="version">The schema version of the event type (default 1).</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="eventType"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The name is not usable or the version is below 1.</exception>
    public EventSourcingDbContextOptionsBuilder MapEvent(Type eventType, string name, int version = 1)
    {
        ArgumentNullException.ThrowIfNull(eventType);
        return WithOption(e => e.WithEventMapping(new EventTypeMapping(eventType, name, version)));
    }

    /// <summary>Sets the largest serialized event (and metadata) accepted, in UTF-8 bytes; the default is 1 MiB.</summary>
    /// <param name="bytes">The limit in bytes, at least 1.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is below 1.</exception>
    public EventSourcingDbContextOptionsBuilder MaxEventSize(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        return WithOption(e => e.WithMaxEventSize(bytes));
    }

    /// <summary>
    /// Sets the System.Text.Json options used for event payloads, for example with a source-generated
    /// <c>JsonSerializerContext</c> as type info resolver. The default is <see cref="JsonSerializerDefaults.Web"/>.
    /// </summary>
    /// <param name="options">The serializer options.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    public EventSourcingDbContextOptionsBuilder UseJsonSerializerOptions(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return WithOption(e => e.WithSerializerOptions(options));
    }

    /// <summary>Sets the clock used for event timestamps (default <see cref="TimeProvider.System"/>).</summary>
    /// <param name="timeProvider">The clock.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="timeProvider"/> is null.</exception>
    public EventSourcingDbContextOptionsBuilder UseTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return WithOption(e => e.WithTimeProvider(timeProvider));
    }

    private EventSourcingDbContextOptionsBuilder WithOption(Func<EventSourcingOptionsExtension, EventSourcingOptionsExtension> setAction)
    {
        var extension = _optionsBuilder.Options.FindExtension<EventSourcingOptionsExtension>() ?? new EventSourcingOptionsExtension();
        ((IDbContextOptionsBuilderInfrastructure)_optionsBuilder).AddOrUpdateExtension(setAction(extension));
        return this;
    }

    /// <summary>
    /// Turns on the transactional outbox: events chosen by <paramref name="configure"/> also produce an outbox message,
    /// written in the same SaveChanges (and transaction) as the event, and handed to an <see cref="IOutboxPublisher"/>
    /// after commit by <c>db.Outbox().DispatchPendingAsync</c> or <c>services.AddEventSourcingOutbox</c>.
    /// </summary>
    /// <param name="configure">Adds routes (<c>Publish&lt;TEvent&gt;</c>, <c>Publish(predicate, …)</c>, <c>PublishAll</c>) and sets the dispatch policy.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="configure"/> is null.</exception>
    public EventSourcingDbContextOptionsBuilder UseOutbox(Action<OutboxOptionsBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var current = _optionsBuilder.Options.FindExtension<EventSourcingOptionsExtension>()?.Outbox ?? new Internal.OutboxSettings();
        var outbox = new OutboxOptionsBuilder(current);
        configure(outbox);
        return WithOption(e => e.WithOutbox(outbox.Settings));
    }
}
