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

    /// <summary>
    /// Uses PostgreSQL as the event store backend, choosing whether the library prepares its fixed-text commands (event
    /// inserts, aggregate replays, read-all pages) explicitly. Pass <see langword="false"/> behind a pooler that does not
    /// keep a server connection per client connection, such as PgBouncer in transaction pooling mode: the commands are
    /// then sent unprepared, and Npgsql's automatic preparation (<c>Max Auto Prepare</c> in the connection string) applies
    /// where the pooler supports it. With <c>Multiplexing=true</c> in the connection string the library never prepares
    /// explicitly (Npgsql does not allow it), whatever this says.
    /// </summary>
    /// <param name="builder">The event sourcing options builder.</param>
    /// <param name="explicitPreparation">Whether to call <c>Prepare()</c> on the library's fixed-text commands (default <see langword="true"/>).</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static EventSourcingDbContextOptionsBuilder UsePostgreSql(this EventSourcingDbContextOptionsBuilder builder, bool explicitPreparation)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UsePostgreSql();
        var optionsBuilder = ((IEventSourcingDbContextOptionsBuilderInfrastructure)builder).OptionsBuilder;
        var extension = optionsBuilder.Options.FindExtension<NpgsqlEventSourcingOptionsExtension>()!.WithExplicitPreparation(explicitPreparation);
        ((IDbContextOptionsBuilderInfrastructure)optionsBuilder).AddOrUpdateExtension(extension);
        return builder;
    }
}
