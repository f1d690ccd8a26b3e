namespace EventSourcing.EFCore.PostgreSQL.Internal;

/// <summary>The PostgreSQL package's exception messages, in one place.</summary>
internal static class NpgsqlMessages
{
    public const string UsePostgreSqlWithoutNpgsql =
        "UsePostgreSql() was called but the DbContext does not use Npgsql. Call optionsBuilder.UseNpgsql(connectionString) as well.";

    public const string UsePostgreSqlWithoutEventSourcing =
        "UsePostgreSql() must be called inside UseEventSourcing(es => es.UsePostgreSql()).";

    public static string StreamGuardNeedsNpgsql(string? activeProvider) =>
        $"The event store's stream guard is a PostgreSQL trigger, but this migration is generated for '{activeProvider ?? "no provider"}'. "
        + "Call CreateEventStreamGuard()/DropEventStreamGuard() only inside if (migrationBuilder.IsNpgsql()) { ... }.";
}
