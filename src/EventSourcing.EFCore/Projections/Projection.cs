using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore;

/// <summary>
/// A named read model derived from events. Derive from <see cref="Projection{TContext}"/>; this non-generic base is
/// what <c>AddProjection</c> and <c>AddInlineProjection</c> accept.
/// </summary>
/// <remarks>
/// One instance serves every context and thread of the application: keep handlers free of per-call state. The name
/// identifies the projection's checkpoint, so it must stay stable once a catch-up projection has run.
/// </remarks>
public abstract class Projection
{
    /// <summary>The longest projection name (the checkpoint table's key).</summary>
    public const int MaxNameLength = 256;

    private protected Projection(string name)
    {
        StreamId.Validate(name, nameof(name)); // not blank, at most MaxNameLength (= StreamId.MaxLength), no control characters or lone surrogates

        Name = name;
    }

    /// <summary>Gets the projection's stable name: the key of its checkpoint and of <c>db.Projections()</c> calls.</summary>
    public string Name { get; }

    /// <summary>
    /// Gets what the projection does, when run as a catch-up projection, with an event its handler fails on or that
    /// cannot be read: <see cref="ProjectionErrorPolicy.Stop"/> (the default) or <see cref="ProjectionErrorPolicy.DeadLetter"/>.
    /// Set it in the derived class's constructor, or with <c>ProjectionBuilder.OnError</c>. Inline projections always
    /// fail the save.
    /// </summary>
    public ProjectionErrorPolicy ErrorPolicy
    {
        get => _errorPolicy;
        protected init => SetErrorPolicy(value);
    }

    private ProjectionErrorPolicy _errorPolicy;

    /// <summary>Sets <see cref="ErrorPolicy"/> (for <c>ProjectionBuilder.OnError</c>).</summary>
    internal void SetErrorPolicy(ProjectionErrorPolicy policy)
    {
        if (!Enum.IsDefined(policy))
        {
            throw new ArgumentOutOfRangeException(nameof(policy), policy, null);
        }

        _errorPolicy = policy;
    }

    /// <summary>Gets the DbContext type the projection's handlers work on.</summary>
    internal abstract Type ContextType { get; }

    /// <summary>Returns true when the projection has a handler for events of <paramref name="eventType"/>.</summary>
    internal abstract bool Handles(Type eventType);

    /// <summary>Runs the handler for <paramref name="envelope"/>'s event, if any.</summary>
    internal abstract Task ApplyAsync(DbContext context, RecordedEvent envelope, CancellationToken cancellationToken);

    /// <summary>
    /// Runs the prefetch hook (<see cref="Projection{TContext}.PrefetchAsync"/>) with the events the handlers are about to
    /// apply, before the first of them.
    /// </summary>
    internal abstract Task PrefetchBatchAsync(DbContext context, IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken);

    /// <summary>Runs the reset hook (<see cref="Projection{TContext}.ResetAsync"/>).</summary>
    internal abstract Task ResetReadModelAsync(DbContext context, CancellationToken cancellationToken);

    /// <summary>Returns the projection's name.</summary>
    /// <returns>The name.</returns>
    public override string ToString() => Name;
}
