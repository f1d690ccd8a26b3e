using EventSourcing.EFCore.PostgreSQL.Diagnostics.Internal;
using EventSourcing.EFCore.PostgreSQL.Storage.Internal;

namespace Microsoft.EntityFrameworkCore.Migrations;

/// <summary>
/// Adds the events table's stream guard (a PostgreSQL trigger, see the README) to a migration by hand. Migrations that
/// <c>dotnet ef migrations add</c> generates for a context configured with <c>UseEventSourcing(es => es.UsePostgreSql())</c>
/// already create, rename and drop the guard with the events table; these helpers are for the other cases: installing
/// the current guard again after a library upgrade changed it, a table created by a migration that lacked it, or
/// removing it.
/// </summary>
public static class NpgsqlEventSourcingMigrationBuilderExtensions
{
    /// <summary>
    /// Creates the stream guard on an events table, replacing the guard's function and trigger if they exist. The SQL
    /// is the same the migrations SQL generator writes with the events table; applying it twice is harmless.
    /// </summary>
    /// <param name="migrationBuilder">The builder of the migration's <c>Up</c> or <c>Down</c>.</param>
    /// <param name="table">The events table (default <c>es_events</c>, as <c>IncludeEventStore()</c> maps it).</param>
    /// <param name="schema">The events table's schema, or <see langword="null"/> for the default schema.</param>
    /// <returns>The same migration builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="migrationBuilder"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="table"/> is null, empty or white space, or <paramref name="schema"/> is empty or white space.</exception>
    /// <exception cref="InvalidOperationException">The migration is not being generated for Npgsql.</exception>
    public static MigrationBuilder CreateEventStreamGuard(this MigrationBuilder migrationBuilder, string table = "es_events", string? schema = null)
        => AddGuardOperation(migrationBuilder, table, schema, drop: false);

    /// <summary>
    /// Drops the stream guard (trigger and function) of an events table, if it exists. Without the guard, appends whose
    /// expected version is ahead of the stream are no longer rejected by the database and per-stream order may disagree
    /// with read-all order.
    /// </summary>
    /// <param name="migrationBuilder">The builder of the migration's <c>Up</c> or <c>Down</c>.</param>
    /// <param name="table">The events table (default <c>es_events</c>).</param>
    /// <param name="schema">The events table's schema, or <see langword="null"/> for the default schema.</param>
    /// <returns>The same migration builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="migrationBuilder"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="table"/> is null, empty or white space, or <paramref name="schema"/> is empty or white space.</exception>
    /// <exception cref="InvalidOperationException">The migration is not being generated for Npgsql.</exception>
    public static MigrationBuilder DropEventStreamGuard(this MigrationBuilder migrationBuilder, string table = "es_events", string? schema = null)
        => AddGuardOperation(migrationBuilder, table, schema, drop: true);

    private static MigrationBuilder AddGuardOperation(MigrationBuilder migrationBuilder, string table, string? schema, bool drop)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        if (schema is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(schema);
        }

        if (!migrationBuilder.IsNpgsql())
        {
            throw new InvalidOperationException(NpgsqlMessages.StreamGuardNeedsNpgsql(migrationBuilder.ActiveProvider));
        }

        migrationBuilder.Operations.Add(new NpgsqlStreamGuardOperation { Table = table, Schema = schema, Drop = drop });
        return migrationBuilder;
    }
}
