using System.Reflection;
using System.Text.Json;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.OutboxInternal;
using EventSourcing.EFCore.Serialization.Internal;
using EventSourcing.EFCore.Snapshots.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Infrastructure;

/// <summary>
/// Configures event sourcing for a DbContext: which event types exist and under which stable names, size limits and
/// serialization. Obtained from <c>UseEventSourcing(es => …)</c>.
/// </summary>
public sealed partial class EventSourcingDbContextOptionsBuilder : IEventSourcingDbContextOptionsBuilderInfrastructure
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

    /// <summary>
    /// Sets whether an appended event stores the W3C trace context of the activity current at append time in its metadata
    /// (<see cref="EventSourcingDiagnostics.TraceParentMetadataKey"/> and, when present, <see cref="EventSourcingDiagnostics.TraceStateMetadataKey"/>);
    /// on by default. The outbox carries it as a message header and catch-up projections link to it. A value the caller
    /// put under those keys is never overwritten; events appended with no current activity store nothing.
    /// </summary>
    /// <param name="record"><see langword="false"/> to store no trace context.</param>
    /// <returns>The same builder, for chaining.</returns>
    public EventSourcingDbContextOptionsBuilder RecordTraceContext(bool record = true) => WithOption(e => e.WithRecordTraceContext(record));

    /// <summary>
    /// Takes a snapshot of every aggregate whenever a save crosses a multiple of <paramref name="events"/> (a save that moves
    /// an aggregate from version 95 to 105 takes one at 105 with <c>SnapshotEvery(100)</c>), in the same SaveChanges as
    /// its events. Loading then reads the newest snapshot and only the events after it. Per-type settings win.
    /// </summary>
    /// <param name="events">The number of events between snapshots, at least 1.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="events"/> is below 1.</exception>
    public EventSourcingDbContextOptionsBuilder SnapshotEvery(int events)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(events, 1);
        return WithOption(e => e.WithSnapshotPolicy(null, SnapshotPolicy.EveryEvents(events)));
    }

    /// <summary>
    /// Takes a snapshot of <typeparamref name="TAggregate"/> aggregates whenever a save crosses a multiple of
    /// <paramref name="events"/>; overrides the policy set for all aggregates.
    /// </summary>
    /// <typeparam name="TAggregate">The aggregate type, derived from <see cref="AggregateRoot{TId}"/>.</typeparam>
    /// <param name="events">The number of events between snapshots, at least 1.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="events"/> is below 1.</exception>
    /// <exception cref="InvalidOperationException"><typeparamref name="TAggregate"/> does not derive from <see cref="AggregateRoot{TId}"/>.</exception>
    public EventSourcingDbContextOptionsBuilder SnapshotEvery<TAggregate>(int events)
        where TAggregate : class, IEventSourcedAggregate
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(events, 1);
        return WithOption(e => e.WithSnapshotPolicy(Snapshottable(typeof(TAggregate)), SnapshotPolicy.EveryEvents(events)));
    }

    /// <summary>
    /// Takes a snapshot of an aggregate after a save when <paramref name="predicate"/> returns true for the aggregate (its
    /// state and <see cref="IEventSourcedAggregate.Version"/> before the save) and the events that save appends.
    /// Applies to every aggregate type without a policy of its own.
    /// </summary>
    /// <param name="predicate">Decides from the aggregate and the event objects being saved.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="predicate"/> is null.</exception>
    public EventSourcingDbContextOptionsBuilder SnapshotWhen(Func<IEventSourcedAggregate, IReadOnlyList<object>, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return WithOption(e => e.WithSnapshotPolicy(null, SnapshotPolicy.Predicate(predicate)));
    }

    /// <summary>
    /// Takes a snapshot of a <typeparamref name="TAggregate"/> after a save when <paramref name="predicate"/> returns true
    /// for the aggregate and the events that save appends; overrides the policy set for all aggregates.
    /// </summary>
    /// <typeparam name="TAggregate">The aggregate type, derived from <see cref="AggregateRoot{TId}"/>.</typeparam>
    /// <param name="predicate">Decides from the aggregate and the event objects being saved.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="predicate"/> is null.</exception>
    /// <exception cref="InvalidOperationException"><typeparamref name="TAggregate"/> does not derive from <see cref="AggregateRoot{TId}"/>.</exception>
    public EventSourcingDbContextOptionsBuilder SnapshotWhen<TAggregate>(Func<TAggregate, IReadOnlyList<object>, bool> predicate)
        where TAggregate : class, IEventSourcedAggregate
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return WithOption(e => e.WithSnapshotPolicy(
            Snapshottable(typeof(TAggregate)), SnapshotPolicy.Predicate((aggregate, events) => predicate((TAggregate)aggregate, events))));
    }

    private static Type Snapshottable(Type aggregateType)
        => SnapshotShape.Supports(aggregateType) && !aggregateType.IsAbstract
            ? aggregateType
            : throw new InvalidOperationException(Messages.SnapshotNotSupported(aggregateType));

    /// <summary>
    /// Registers a catch-up projection: it applies committed events after the fact, from its checkpoint, through
    /// <c>db.Projections().CatchUpAsync(name)</c> or the hosted service of <c>AddEventSourcingProjections</c>.
    /// </summary>
    /// <typeparam name="TProjection">A <see cref="Projection{TContext}"/> with a parameterless constructor.</typeparam>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="InvalidOperationException">Another projection has the same name.</exception>
    public EventSourcingDbContextOptionsBuilder AddProjection<TProjection>()
        where TProjection : Projection, new()
        => AddProjection(new TProjection());

    /// <summary>Registers a catch-up projection instance (see <see cref="AddProjection{TProjection}()"/>).</summary>
    /// <param name="projection">The projection; one instance serves every context.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="projection"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Another projection has the same name.</exception>
    public EventSourcingDbContextOptionsBuilder AddProjection(Projection projection)
    {
        ArgumentNullException.ThrowIfNull(projection);
        return WithOption(e => e.WithProjection(projection, inline: false));
    }

    /// <summary>Registers a catch-up projection defined by functions (see <see cref="AddProjection{TProjection}()"/>).</summary>
    /// <typeparam name="TContext">The DbContext whose entities the handlers change.</typeparam>
    /// <param name="name">The projection's stable name.</param>
    /// <param name="configure">Registers the handlers, for example <c>p =&gt; p.On&lt;OrderPlaced&gt;((db, e, envelope) =&gt; …)</c>.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty, white space or too long.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="configure"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Another projection has the same name.</exception>
    public EventSourcingDbContextOptionsBuilder AddProjection<TContext>(string name, Action<ProjectionBuilder<TContext>> configure)
        where TContext : DbContext
        => AddProjection(Build(name, configure));

    /// <summary>
    /// Registers an inline projection: its handlers run inside every SaveChanges that appends events, and their
    /// read-model changes commit in the same transaction as the events.
    /// </summary>
    /// <typeparam name="TProjection">A <see cref="Projection{TContext}"/> with a parameterless constructor.</typeparam>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="InvalidOperationException">Another projection has the same name.</exception>
    public EventSourcingDbContextOptionsBuilder AddInlineProjection<TProjection>()
        where TProjection : Projection, new()
        => AddInlineProjection(new TProjection());

    /// <summary>Registers an inline projection instance (see <see cref="AddInlineProjection{TProjection}()"/>).</summary>
    /// <param name="projection">The projection; one instance serves every context.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="projection"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Another projection has the same name.</exception>
    public EventSourcingDbContextOptionsBuilder AddInlineProjection(Projection projection)
    {
        ArgumentNullException.ThrowIfNull(projection);
        return WithOption(e => e.WithProjection(projection, inline: true));
    }

    /// <summary>Registers an inline projection defined by functions (see <see cref="AddInlineProjection{TProjection}()"/>).</summary>
    /// <typeparam name="TContext">The DbContext whose entities the handlers change.</typeparam>
    /// <param name="name">The projection's stable name.</param>
    /// <param name="configure">Registers the handlers, for example <c>p =&gt; p.On&lt;OrderPlaced&gt;((db, e, envelope) =&gt; …)</c>.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty, white space or too long.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="configure"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Another projection has the same name.</exception>
    public EventSourcingDbContextOptionsBuilder AddInlineProjection<TContext>(string name, Action<ProjectionBuilder<TContext>> configure)
        where TContext : DbContext
        => AddInlineProjection(Build(name, configure));

    private static Projection<TContext> Build<TContext>(string name, Action<ProjectionBuilder<TContext>> configure)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = new ProjectionBuilder<TContext>(name);
        configure(builder);
        return builder.Projection;
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
    /// <exception cref="InvalidOperationException">The lease is not longer than the publish timeout.</exception>
    public EventSourcingDbContextOptionsBuilder UseOutbox(Action<OutboxOptionsBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var current = _optionsBuilder.Options.FindExtension<EventSourcingOptionsExtension>()?.Outbox ?? new OutboxSettings();
        var outbox = new OutboxOptionsBuilder(current);
        configure(outbox);
        outbox.Validate();
        return WithOption(e => e.WithOutbox(outbox.Settings));
    }
}
