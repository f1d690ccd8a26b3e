using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Serialization.Internal;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Storage.Internal;

/// <summary>
/// The outbox's place in a model: how <c>IncludeEventStore</c> maps <see cref="StoredOutboxMessage"/>, and, in a
/// finalized model, the table and column names the dispatcher's SQL uses (read once per model and cached on it).
/// </summary>
internal sealed class OutboxModel
{
    /// <summary>The filter of the partial indexes over pending rows (PostgreSQL; EF InMemory ignores it).</summary>
    internal const string PendingFilter = "dispatched_at IS NULL AND dead_lettered_at IS NULL";

    /// <summary>The longest lease owner (a claim token) the column holds.</summary>
    internal const int LeaseOwnerMaxLength = 200;

    private const string CacheAnnotation = "EventSourcing:OutboxModel";

    private OutboxModel(IEntityType outbox)
    {
        Table = outbox.GetTableName() ?? "es_outbox";
        Schema = outbox.GetSchema();
        var table = StoreObjectIdentifier.Table(Table, Schema);
        string Column(string property) => outbox.FindProperty(property)!.GetColumnName(table) ?? property;
        Columns = new OutboxColumns(
            Column(nameof(StoredOutboxMessage.Id)),
            Column(nameof(StoredOutboxMessage.EventId)),
            Column(nameof(StoredOutboxMessage.Destination)),
            Column(nameof(StoredOutboxMessage.EventType)),
            Column(nameof(StoredOutboxMessage.StreamType)),
            Column(nameof(StoredOutboxMessage.StreamId)),
            Column(nameof(StoredOutboxMessage.StreamVersion)),
            Column(nameof(StoredOutboxMessage.Payload)),
            Column(nameof(StoredOutboxMessage.Headers)),
            Column(nameof(StoredOutboxMessage.CreatedAt)),
            Column(nameof(StoredOutboxMessage.Attempts)),
            Column(nameof(StoredOutboxMessage.NextAttemptAt)),
            Column(nameof(StoredOutboxMessage.DispatchedAt)),
            Column(nameof(StoredOutboxMessage.DeadLetteredAt)),
            Column(nameof(StoredOutboxMessage.LastError)),
            Column(nameof(StoredOutboxMessage.LeaseOwner)),
            Column(nameof(StoredOutboxMessage.LeaseExpiresAt)));
    }

    public string Table { get; }

    public string? Schema { get; }

    public OutboxColumns Columns { get; }

    /// <summary>Returns the outbox part of <paramref name="model"/>, or throws when IncludeEventStore was not called.</summary>
    public static OutboxModel Get(IModel model)
        => model.GetOrAddRuntimeAnnotationValue(
               CacheAnnotation,
               static m => m!.FindEntityType(typeof(StoredOutboxMessage)) is { } outbox ? new OutboxModel(outbox) : null,
               model)
           ?? throw new InvalidOperationException(Messages.EventStoreNotInModel);

    /// <summary>Maps the outbox table; called by <c>IncludeEventStore</c>.</summary>
    internal static void Configure(ModelBuilder modelBuilder, EventStoreBuilder options)
    {
        var name = options.OutboxTable;
        modelBuilder.Entity<StoredOutboxMessage>(e =>
        {
            e.ToTable(name, options.Schema);
            e.HasKey(x => x.Id).HasName("pk_" + name);
            e.Property(x => x.Id).HasColumnName("id").ValueGeneratedOnAdd();
            e.Property(x => x.EventId).HasColumnName("event_id").ValueGeneratedNever();
            e.Property(x => x.Destination).HasColumnName("destination").IsRequired();
            e.Property(x => x.EventType).HasColumnName("event_type").HasMaxLength(EventTypeName.MaxLength).IsRequired();
            e.Property(x => x.StreamType).HasColumnName("stream_type").HasMaxLength(EventSourcing.EFCore.StreamId.MaxLength).IsRequired();
            e.Property(x => x.StreamId).HasColumnName("stream_id").HasMaxLength(EventSourcing.EFCore.StreamId.MaxLength).IsRequired();
            e.Property(x => x.StreamVersion).HasColumnName("stream_version");
            e.Property(x => x.Payload).HasColumnName("payload").IsRequired();
            e.Property(x => x.Headers).HasColumnName("headers").IsRequired();
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.Attempts).HasColumnName("attempts");
            e.Property(x => x.NextAttemptAt).HasColumnName("next_attempt_at");
            e.Property(x => x.DispatchedAt).HasColumnName("dispatched_at");
            e.Property(x => x.DeadLetteredAt).HasColumnName("dead_lettered_at");
            e.Property(x => x.LastError).HasColumnName("last_error");
            e.Property(x => x.LeaseOwner).HasColumnName("lease_owner").HasMaxLength(LeaseOwnerMaxLength);
            e.Property(x => x.LeaseExpiresAt).HasColumnName("lease_expires_at");

            // Small partial indexes: pending rows in claim order, pending rows per stream (the ordering check), and dead
            // letters (stats, requeue). Dispatched rows, the bulk of the table, are in none of them.
            e.HasIndex(x => x.Id).HasDatabaseName("ix_" + name + "_pending").HasFilter(PendingFilter);
            e.HasIndex(x => new { x.StreamType, x.StreamId, x.StreamVersion }).HasDatabaseName("ix_" + name + "_pending_stream").HasFilter(PendingFilter);
            e.HasIndex(x => x.EventId).HasDatabaseName("ix_" + name + "_dead_letters").HasFilter("dead_lettered_at IS NOT NULL");
        });
    }
}

/// <summary>The column names of the outbox table.</summary>
internal sealed record OutboxColumns(
    string Id,
    string EventId,
    string Destination,
    string EventType,
    string StreamType,
    string StreamId,
    string StreamVersion,
    string Payload,
    string Headers,
    string CreatedAt,
    string Attempts,
    string NextAttemptAt,
    string DispatchedAt,
    string DeadLetteredAt,
    string LastError,
    string LeaseOwner,
    string LeaseExpiresAt);
