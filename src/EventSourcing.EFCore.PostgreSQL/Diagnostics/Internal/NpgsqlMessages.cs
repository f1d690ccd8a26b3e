namespace EventSourcing.EFCore.PostgreSQL.Diagnostics.Internal;

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

    public const string EventInsertFailed =
        "An error occurred while saving the entity changes (the event rows of this SaveChanges). See the inner exception for details.";

    public const string EventRowNotMatched = "The database returned an event row that this SaveChanges did not insert.";

    public const string ImportNeedsPostgreSql =
        "ImportAsync writes with PostgreSQL's binary COPY: configure the context with UseNpgsql(...) and UseEventSourcing(es => es.UsePostgreSql()).";

    public static string StreamImportedTwice(StreamId streamId) => $"The import lists stream {streamId} more than once; give each stream once, with all its events.";

    public const string CannotCarryEventRows =
        "The events entity has a column the PostgreSQL event batch cannot write; the event store's entity must not be customised beyond IncludeEventStore(b => ...).";

    public static string ProviderServiceReplaced(Type service, Type implementation) =>
        $"ReplaceService<{service.Name}, {implementation.Name}>() replaces a service that UseEventSourcing(es => es.UsePostgreSql()) "
        + "replaces too (it writes the event store's stream guard, read-all index and one-statement event batch). EF would keep only yours and "
        + "the event store would silently lose them. Remove the ReplaceService call for this service.";
}
