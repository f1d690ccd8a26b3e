using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.PostgreSQL.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Microsoft.EntityFrameworkCore;

/// <summary>
/// Adds PostgreSQL support to event sourcing: gap-safe read-all over <c>xid8</c> transaction ids, the stream-order
/// guard created with the events table, and translation of PostgreSQL errors into the library's exceptions.
/// </summary>
public static class NpgsqlEventSourcingDbContextOptionsBuilderExtensions
{
    /// <summary>
    /// Uses PostgreSQL (through Npgsql) as the event store backend. Call it inside <c>UseEventSourcing(es => …)</c> on a
    /// context configured with <c>UseNpgsql</c>.
    /// </summary>
    /// <param name="builder">The event sourcing options builder.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static EventSourcingDbContextOptionsBuilder UsePostgreSql(this EventSourcingDbContextOptionsBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var optionsBuilder = ((IEventSourcingDbContextOptionsBuilderInfrastructure)builder).OptionsBuilder;
        var extension = optionsBuilder.Options.FindExtension<NpgsqlEventSourcingOptionsExtension>() ?? new NpgsqlEventSourcingOptionsExtension();
        ((IDbContextOptionsBuilderInfrastructure)optionsBuilder).AddOrUpdateExtension(extension);
        return builder;
    }
}
