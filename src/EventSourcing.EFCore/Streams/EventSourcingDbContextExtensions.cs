using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using EventSourcing.EFCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Microsoft.EntityFrameworkCore;

/// <summary>
/// Event sourcing entry points on a DbContext configured with <c>UseEventSourcing</c> and <c>IncludeEventStore</c>.
/// </summary>
public static class EventSourcingDbContextExtensions
{
    /// <summary>Gets the context's event store: append, read a stream, read all, stream versions.</summary>
    /// <param name="context">A DbContext configured with <c>UseEventSourcing</c> and <c>IncludeEventStore</c>.</param>
    /// <returns>The event store of this context instance.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The context is not configured for event sourcing; the message says what to call.</exception>
    public static EventStore Events(this DbContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()
            ?? throw new InvalidOperationException(Messages.EventSourcingNotConfigured(context.GetType()));

        // EF validates options only when it builds a new internal service provider; build (and so validate) the
        // event type registry here too, so a misconfiguration surfaces at the same point whatever EF cached.
        _ = options.Registry;
        _ = options.Upcasting;

        EventStoreModel.Get(context.Model);
        return context.GetService<EventStore>();
    }

    /// <summary>Gets the aggregates of type <typeparamref name="TAggregate"/> in this context: add, load, find, point in time.</summary>
    /// <typeparam name="TAggregate">The aggregate type, usually an <see cref="AggregateRoot{TId}"/>.</typeparam>
    /// <param name="context">A DbContext configured with <c>UseEventSourcing</c> and <c>IncludeEventStore</c>.</param>
    /// <returns>The aggregate set of this context instance.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The context is not configured for event sourcing; the message says what to call.</exception>
    public static AggregateSet<TAggregate> Aggregates<TAggregate>(this DbContext context)
        where TAggregate : class, IEventSourcedAggregate
    {
        context.Events(); // checks the configuration first
        return new(context, context.GetService<EventStoreSession>());
    }

    /// <summary>Gets the context's catch-up projections: catch one up now, rebuild it, read its lag.</summary>
    /// <param name="context">A DbContext configured with <c>UseEventSourcing</c> and <c>IncludeEventStore</c>.</param>
    /// <returns>The projection runner of this context instance.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The context is not configured for event sourcing; the message says what to call.</exception>
    public static ProjectionRunner Projections(this DbContext context)
    {
        context.Events(); // checks the configuration first
        return new(context, context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!);
    }

    /// <summary>Gets the context's transactional outbox: dispatch, requeue dead letters, stats, cleanup.</summary>
    /// <param name="context">A DbContext configured with <c>UseEventSourcing(es => es.UseOutbox(…))</c> and <c>IncludeEventStore</c>.</param>
    /// <returns>The outbox of this context instance.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Event sourcing or the outbox is not configured; the message says what to call.</exception>
    public static Outbox Outbox(this DbContext context)
    {
        context.Events(); // checks the configuration first
        var options = context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!;
        var settings = options.Outbox ?? throw new InvalidOperationException(Messages.OutboxNotConfigured(context.GetType()));
        OutboxModel.Get(context.Model);
        return new Outbox(context, settings, options.TimeProvider);
    }
}
