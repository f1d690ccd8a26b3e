using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.Diagnostics.Internal;

/// <summary>
/// The library's loggers, one per category of <see cref="EventSourcingLoggerCategory"/>, created from the logger factory
/// EF Core uses for the context (the application's <c>ILoggerFactory</c>, or <c>UseLoggerFactory</c>).
/// </summary>
internal sealed class EventSourcingLoggers(ILoggerFactory factory)
{
    public ILogger Streams { get; } = factory.CreateLogger(EventSourcingLoggerCategory.Streams);

    public ILogger Snapshots { get; } = factory.CreateLogger(EventSourcingLoggerCategory.Snapshots);

    public ILogger Projections { get; } = factory.CreateLogger(EventSourcingLoggerCategory.Projections);

    public ILogger Outbox { get; } = factory.CreateLogger(EventSourcingLoggerCategory.Outbox);

    /// <summary>Gets the loggers of <paramref name="context"/>'s internal service provider.</summary>
    public static EventSourcingLoggers Of(DbContext context) => context.GetService<EventSourcingLoggers>();
}
