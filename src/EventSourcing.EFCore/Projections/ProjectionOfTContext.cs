using System.Collections.Concurrent;
using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore;

/// <summary>
/// A read model over the user's own EF entities, built from events by handlers registered with <c>On&lt;TEvent&gt;</c>
/// in the constructor. Register it with <c>es.AddProjection&lt;T&gt;()</c> (catch-up: applied after commit, from a
/// checkpoint) or <c>es.AddInlineProjection&lt;T&gt;()</c> (applied inside the SaveChanges that appends the events).
/// </summary>
/// <typeparam name="TContext">The DbContext whose entities the handlers change.</typeparam>
/// <example>
/// <code>
/// public sealed class OrderTotals : Projection&lt;ShopDbContext&gt;
/// {
///     public OrderTotals() : base("order-totals")
///     {
///         On&lt;OrderPlaced&gt;((db, e, envelope) =&gt; db.Add(new OrderTotal { Id = e.OrderId, Amount = e.Amount }));
///         On&lt;OrderCancelled&gt;(async (db, e, envelope, ct) =&gt;
///             db.Remove((await db.OrderTotals.FindAsync([e.OrderId], ct))!));
///     }
///
///     public override Task ResetAsync(ShopDbContext db, CancellationToken ct) =&gt; db.OrderTotals.ExecuteDeleteAsync(ct);
/// }
/// </code>
/// </example>
public abstract class Projection<TContext> : Projection
    where TContext : DbContext
{
    private readonly List<(Type EventType, Func<TContext, object, RecordedEvent, CancellationToken, Task> Handler)> _handlers = [];
    private readonly ConcurrentDictionary<Type, Func<TContext, object, RecordedEvent, CancellationToken, Task>?> _resolved = new();

    /// <summary>Creates a projection.</summary>
    /// <param name="name">The projection's stable name (at most <see cref="Projection.MaxNameLength"/> characters).</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty, white space or too long.</exception>
    protected Projection(string name)
        : base(name)
    {
    }

    internal override Type ContextType => typeof(TContext);

    /// <summary>
    /// Clears the read model before <c>RebuildAsync</c> replays every event. The changes are saved together with the
    /// reset checkpoint (on PostgreSQL in one transaction, so bulk operations such as <c>ExecuteDeleteAsync</c> join it).
    /// The default throws: a projection can be rebuilt only once it says how to clear its read model.
    /// </summary>
    /// <param name="context">The context to clear the read model through.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the read model is cleared (or its removal is tracked).</returns>
    /// <exception cref="InvalidOperationException">The projection does not override this method.</exception>
    public virtual Task ResetAsync(TContext context, CancellationToken cancellationToken)
        => Task.FromException(new InvalidOperationException(Messages.ProjectionCannotReset(Name)));

    /// <summary>
    /// Runs once per batch, before the handlers, with every event they are about to apply (in commit order): load here, in
    /// one query, the read-model rows the handlers will change, tracked, so that a handler finds its row in the change
    /// tracker (<c>FindAsync</c>, or <c>Set&lt;T&gt;().Local.FindEntry(key)</c>, which never queries) instead of sending a
    /// query per event. The default does nothing.
    /// </summary>
    /// <remarks>
    /// <para>
    /// A catch-up batch calls it with the batch's decoded events of the types the projection handles (at most the batch
    /// size), on the batch's fresh change tracker; if an event is then dead-lettered, the batch is applied again from a
    /// clean change tracker and the hook runs again with the remaining events. An inline projection calls it once per
    /// SaveChanges with the events of that save it handles; in a synchronous SaveChanges it must complete synchronously,
    /// as the handlers must. Dead-letter replay calls it with the events being replayed.
    /// </para>
    /// <para>
    /// It only prepares the change tracker: what the read model ends up holding must not depend on whether it ran. An
    /// exception fails the whole batch with <see cref="ProjectionFailedException"/> whatever <see cref="Projection.ErrorPolicy"/>
    /// says (no event is to blame, so none is dead-lettered): nothing of the batch is saved and the checkpoint does not move.
    /// </para>
    /// </remarks>
    /// <param name="context">The context the batch's handlers run on.</param>
    /// <param name="events">The events the handlers are about to apply, in commit order; never empty.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the rows are loaded.</returns>
    /// <example>
    /// <code>
    /// public override Task PrefetchAsync(ShopDbContext db, IReadOnlyList&lt;RecordedEvent&gt; events, CancellationToken ct)
    /// {
    ///     var ids = events.Select(e =&gt; ((IOrderEvent)e.Data).OrderId).Distinct().ToList();
    ///     return db.OrderTotals.Where(t =&gt; ids.Contains(t.Id)).LoadAsync(ct);
    /// }
    /// </code>
    /// </example>
    public virtual Task PrefetchAsync(TContext context, IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken)
        => Task.CompletedTask;

    /// <summary>Registers the handler for events of type <typeparamref name="TEvent"/> (and types derived from it).</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="handler">Changes the read model through the context; receives the event and its envelope.</param>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A handler for <typeparamref name="TEvent"/> is already registered.</exception>
    protected void On<TEvent>(Func<TContext, TEvent, RecordedEvent, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Register(typeof(TEvent), (context, data, envelope, cancellationToken) => handler(context, (TEvent)data, envelope, cancellationToken));
    }

    /// <summary>Registers a synchronous handler for events of type <typeparamref name="TEvent"/> (and types derived from it).</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="handler">Changes the read model through the context; receives the event and its envelope.</param>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A handler for <typeparamref name="TEvent"/> is already registered.</exception>
    protected void On<TEvent>(Action<TContext, TEvent, RecordedEvent> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Register(typeof(TEvent), (context, data, envelope, _) =>
        {
            handler(context, (TEvent)data, envelope);
            return Task.CompletedTask;
        });
    }

    // Events of obsolete types (ObsoleteEvent) are skipped even by a handler of object.
    internal override bool Handles(Type eventType) => eventType != typeof(ObsoleteEvent) && Resolve(eventType) is not null;

    internal override Task ApplyAsync(DbContext context, RecordedEvent envelope, CancellationToken cancellationToken)
        => !envelope.IsObsolete && Resolve(envelope.Data.GetType()) is { } handler ? handler(Cast(context), envelope.Data, envelope, cancellationToken) : Task.CompletedTask;

    internal override Task PrefetchBatchAsync(DbContext context, IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken)
        => PrefetchAsync(Cast(context), events, cancellationToken);

    internal override Task ResetReadModelAsync(DbContext context, CancellationToken cancellationToken) => ResetAsync(Cast(context), cancellationToken);

    private void Register(Type eventType, Func<TContext, object, RecordedEvent, CancellationToken, Task> handler)
    {
        if (_handlers.Exists(h => h.EventType == eventType))
        {
            throw new InvalidOperationException(Messages.ProjectionHandlerTwice(Name, eventType));
        }

        _handlers.Add((eventType, handler));
        _resolved.Clear();
    }

    private Func<TContext, object, RecordedEvent, CancellationToken, Task>? Resolve(Type eventType)
        => _resolved.GetOrAdd(eventType, static (type, handlers) =>
        {
            foreach (var (eventType, handler) in handlers)
            {
                if (eventType == type)
                {
                    return handler;
                }
            }

            foreach (var (eventType, handler) in handlers)
            {
                if (eventType.IsAssignableFrom(type))
                {
                    return handler;
                }
            }

            return null;
        }, _handlers);

    private TContext Cast(DbContext context)
        => context as TContext ?? throw new InvalidOperationException(Messages.ProjectionContextMismatch(Name, typeof(TContext), context.GetType()));
}
