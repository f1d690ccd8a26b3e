namespace EventSourcing.EFCore.Storage;

/// <summary>
/// Configures where <c>IncludeEventStore</c> maps the event store's tables: the schema and the table names.
/// </summary>
public sealed class EventStoreBuilder
{
    internal string? Schema { get; private set; }

    internal string EventsTable { get; private set; } = "es_events";

    internal string SnapshotsTable { get; private set; } = "es_snapshots";

    /// <summary>Puts the event store's tables in <paramref name="schema"/> instead of the model's default schema.</summary>
    /// <param name="schema">The database schema name.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="schema"/> is null, empty or white space.</exception>
    public EventStoreBuilder ToSchema(string schema)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(schema);
        Schema = schema;
        return this;
    }

    /// <summary>Names the events table (default <c>es_events</c>).</summary>
    /// <param name="name">The table name.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space.</exception>
    public EventStoreBuilder ToEventsTable(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        EventsTable = name;
        return this;
    }

    /// <summary>Names the snapshots table (default <c>es_snapshots</c>).</summary>
    /// <param name="name">The table name.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space.</exception>
    public EventStoreBuilder ToSnapshotsTable(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        SnapshotsTable = name;
        return this;
    }

    internal string CheckpointsTable { get; private set; } = "es_checkpoints";

    /// <summary>Names the projection checkpoints table (default <c>es_checkpoints</c>).</summary>
    /// <param name="name">The table name.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space.</exception>
    public EventStoreBuilder ToCheckpointsTable(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        CheckpointsTable = name;
        return this;
    }

    internal string DeadLettersTable { get; private set; } = "es_projection_dead_letters";

    /// <summary>Sets the table of the events catch-up projections skipped (default <c>es_projection_dead_letters</c>).</summary>
    /// <param name="name">The table name.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space.</exception>
    public EventStoreBuilder ToProjectionDeadLettersTable(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        DeadLettersTable = name;
        return this;
    }

    internal string OutboxTable { get; private set; } = "es_outbox";

    /// <summary>Names the outbox table (default <c>es_outbox</c>).</summary>
    /// <param name="name">The table name.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space.</exception>
    public EventStoreBuilder ToOutboxTable(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        OutboxTable = name;
        return this;
    }
}
