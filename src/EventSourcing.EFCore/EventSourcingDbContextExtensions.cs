using EventSourcing.EFCore;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage;
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
        if (context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>() is null)
        {
            throw new InvalidOperationException(Messages.EventSourcingNotConfigured(context.GetType()));
        }

        EventStoreModel.Get(context.Model);
        return context.GetService<EventStore>();
    }
}
