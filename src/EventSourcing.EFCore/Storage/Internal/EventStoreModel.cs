using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Storage.Internal;

/// <summary>
/// The event store's place in a finalized EF model: its entity type and the database names the library relies on
/// (read once per model and cached on it).
/// </summary>
internal sealed class EventStoreModel
{
    /// <summary>Marks an entity type as the event store's events entity and names the role of its indexes.</summary>
    internal const string StreamIndexAnnotation = "EventSourcing:StreamIndex";
    internal const string EventIdIndexAnnotation = "EventSourcing:EventIdIndex";

    /// <summary>The shadow property a backend may add for the committing transaction id (PostgreSQL: xid8).</summary>
    internal const string TransactionIdProperty = "TransactionId";

    /// <summary>Set on a model under construction whose context has <c>UseEventSourcing</c> (removed when it is finalized).</summary>
    internal const string ConfiguredAnnotation = "EventSourcing:Configured";

    private const string CacheAnnotation = "EventSourcing:EventStoreModel";

    private EventStoreModel(IEntityType events)
    {
        Events = events;
        Table = events.GetTableName() ?? "es_events";
        Schema = events.GetSchema();
        var table = StoreObjectIdentifier.Table(Table, Schema);
        StreamIndexName = FindIndexName(events, StreamIndexAnnotation, table);
        EventIdIndexName = FindIndexName(events, EventIdIndexAnnotation, table);
        string Column(string property) => events.FindProperty(property)!.GetColumnName(table) ?? property;
        Columns = new EventColumns(
            Column(nameof(StoredEvent.GlobalPosition)),
            Column(nameof(StoredEvent.StreamType)),
            Column(nameof(StoredEvent.StreamId)),
            Column(nameof(StoredEvent.Sequence)),
            Column(nameof(StoredEvent.EventId)),
            Column(nameof(StoredEvent.EventType)),
            Column(nameof(StoredEvent.EventVersion)),
            Column(nameof(StoredEvent.Payload)),
            Column(nameof(StoredEvent.Metadata)),
            Column(nameof(StoredEvent.CreatedAt)));
    }

    public IEntityType Events { get; }

    public string Table { get; }

    public string? Schema { get; }

    public string? StreamIndexName { get; }

    public string? EventIdIndexName { get; }

    public EventColumns Columns { get; }

    /// <summary>Returns the event store part of <paramref name="model"/>, or throws when IncludeEventStore was not called.</summary>
    public static EventStoreModel Get(IModel model)
        => model.GetOrAddRuntimeAnnotationValue(
               CacheAnnotation,
               static m => m!.FindEntityType(typeof(StoredEvent)) is { } events ? new EventStoreModel(events) : null,
               model)
           ?? throw new InvalidOperationException(Messages.EventStoreNotInModel);

    private static string? FindIndexName(IEntityType events, string role, StoreObjectIdentifier table)
        => events.GetIndexes().FirstOrDefault(i => i.FindAnnotation(role) is not null)?.GetDatabaseName(table);
}

/// <summary>The column names of the events table.</summary>
internal sealed record EventColumns(
    string GlobalPosition,
    string StreamType,
    string StreamId,
    string Sequence,
    string EventId,
    string EventType,
    string EventVersion,
    string Payload,
    string Metadata,
    string CreatedAt);
