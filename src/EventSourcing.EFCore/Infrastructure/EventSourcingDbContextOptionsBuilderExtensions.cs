using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Microsoft.EntityFrameworkCore;

/// <summary>
/// Turns event sourcing on for a DbContext: registers the SaveChanges interceptor and the event store services.
/// </summary>
public static class EventSourcingDbContextOptionsBuilderExtensions
{
    /// <summary>
    /// Turns event sourcing on: staged appends and aggregate events are written by the context's own SaveChanges, in
    /// one transaction with the other changes. Also call <c>modelBuilder.IncludeEventStore()</c> in <c>OnModelCreating</c>.
    /// </summary>
    /// <param name="optionsBuilder">The DbContext options builder.</param>
    /// <param name="configure">Registers event types and sets options; on PostgreSQL it must call <c>UsePostgreSql()</c>.</param>
    /// <returns>The same options builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="optionsBuilder"/> is null.</exception>
    /// <exception cref="InvalidOperationException">
    /// Two event types share a name, or a registered event type cannot round-trip through the serializer options (the
    /// message names each type and member).
    /// </exception>
    public static DbContextOptionsBuilder UseEventSourcing(
        this DbContextOptionsBuilder optionsBuilder,
        Action<EventSourcingDbContextOptionsBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        var extension = optionsBuilder.Options.FindExtension<EventSourcingOptionsExtension>() ?? new EventSourcingOptionsExtension();
        ((IDbContextOptionsBuilderInfrastructure)optionsBuilder).AddOrUpdateExtension(extension);
        configure?.Invoke(new EventSourcingDbContextOptionsBuilder(optionsBuilder));

        // Fail here, at configuration, for event types that clash or cannot round-trip, not at their first read.
        optionsBuilder.Options.FindExtension<EventSourcingOptionsExtension>()!.ValidateEventTypes();
        return optionsBuilder;
    }

    /// <summary>
    /// Turns event sourcing on: staged appends and aggregate events are written by the context's own SaveChanges, in
    /// one transaction with the other changes. Also call <c>modelBuilder.IncludeEventStore()</c> in <c>OnModelCreating</c>.
    /// </summary>
    /// <typeparam name="TContext">The DbContext type.</typeparam>
    /// <param name="optionsBuilder">The DbContext options builder.</param>
    /// <param name="configure">Registers event types and sets options; on PostgreSQL it must call <c>UsePostgreSql()</c>.</param>
    /// <returns>The same options builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="optionsBuilder"/> is null.</exception>
    /// <exception cref="InvalidOperationException">
    /// Two event types share a name, or a registered event type cannot round-trip through the serializer options (the
    /// message names each type and member).
    /// </exception>
    public static DbContextOptionsBuilder<TContext> UseEventSourcing<TContext>(
        this DbContextOptionsBuilder<TContext> optionsBuilder,
        Action<EventSourcingDbContextOptionsBuilder>? configure = null)
        where TContext : DbContext
        => (DbContextOptionsBuilder<TContext>)UseEventSourcing((DbContextOptionsBuilder)optionsBuilder, configure);
}
