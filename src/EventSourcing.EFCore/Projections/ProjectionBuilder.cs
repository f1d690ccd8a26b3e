using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore;

/// <summary>
/// Defines a small projection without a class: the function form of <see cref="Projection{TContext}"/>, used by
/// <c>es.AddProjection&lt;TContext&gt;(name, p =&gt; p.On&lt;TEvent&gt;(…))</c> and <c>AddInlineProjection</c>.
/// </summary>
/// <typeparam name="TContext">The DbContext whose entities the handlers change.</typeparam>
public sealed class ProjectionBuilder<TContext>
    where TContext : DbContext
{
    private readonly FunctionProjection _projection;

    internal ProjectionBuilder(string name) => _projection = new FunctionProjection(name);

    internal Projection<TContext> Projection => _projection;

    /// <summary>Registers the handler for events of type <typeparamref name="TEvent"/> (and types derived from it).</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="handler">Changes the read model through the context; receives the event and its envelope.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A handler for <typeparamref name="TEvent"/> is already registered.</exception>
    public ProjectionBuilder<TContext> On<TEvent>(Func<TContext, TEvent, RecordedEvent, CancellationToken, Task> handler)
    {
        _projection.Add(handler);
        return this;
    }

    /// <summary>Registers a synchronous handler for events of type <typeparamref name="TEvent"/> (and types derived from it).</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="handler">Changes the read model through the context; receives the event and its envelope.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A handler for <typeparamref name="TEvent"/> is already registered.</exception>
    public ProjectionBuilder<TContext> On<TEvent>(Action<TContext, TEvent, RecordedEvent> handler)
    {
        _projection.Add(handler);
        return this;
    }

    /// <summary>Sets how <c>RebuildAsync</c> clears the read model (see <see cref="Projection{TContext}.ResetAsync"/>).</summary>
    /// <param name="reset">Clears the read model through the context.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="reset"/> is null.</exception>
    public ProjectionBuilder<TContext> OnReset(Func<TContext, CancellationToken, Task> reset)
    {
        ArgumentNullException.ThrowIfNull(reset);
        _projection.Reset = reset;
        return this;
    }

    /// <summary>
    /// Sets the hook that runs once per batch before the handlers, with the events they are about to apply, to load the
    /// read-model rows they need in one query (see <see cref="Projection{TContext}.PrefetchAsync"/>).
    /// </summary>
    /// <param name="prefetch">Loads, tracked, the rows the batch's handlers will change.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="prefetch"/> is null.</exception>
    public ProjectionBuilder<TContext> Prefetch(Func<TContext, IReadOnlyList<RecordedEvent>, CancellationToken, Task> prefetch)
    {
        ArgumentNullException.ThrowIfNull(prefetch);
        _projection.Prefetch = prefetch;
        return this;
    }

    /// <summary>Sets what the projection does, when caught up, with an event that fails (see <see cref="Projection.ErrorPolicy"/>).</summary>
    /// <param name="policy"><see cref="ProjectionErrorPolicy.Stop"/> (the default) or <see cref="ProjectionErrorPolicy.DeadLetter"/>.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="policy"/> is not a defined value.</exception>
    public ProjectionBuilder<TContext> OnError(ProjectionErrorPolicy policy)
    {
        _projection.SetErrorPolicy(policy);
        return this;
    }

    private sealed class FunctionProjection(string name) : Projection<TContext>(name)
    {
        public Func<TContext, CancellationToken, Task>? Reset { get; set; }

        public Func<TContext, IReadOnlyList<RecordedEvent>, CancellationToken, Task>? Prefetch { get; set; }

        public void Add<TEvent>(Func<TContext, TEvent, RecordedEvent, CancellationToken, Task> handler) => On(handler);

        public void Add<TEvent>(Action<TContext, TEvent, RecordedEvent> handler) => On(handler);

        public override Task ResetAsync(TContext context, CancellationToken cancellationToken)
            => Reset is { } reset ? reset(context, cancellationToken) : base.ResetAsync(context, cancellationToken);

        public override Task PrefetchAsync(TContext context, IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken)
            => Prefetch is { } prefetch ? prefetch(context, events, cancellationToken) : base.PrefetchAsync(context, events, cancellationToken);
    }
}
