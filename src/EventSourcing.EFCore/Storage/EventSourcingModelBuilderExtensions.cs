using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Serialization.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore;

namespace Microsoft.EntityFrameworkCore;

/// <summary>
/// Adds the event store's entity types to a model, so that <c>dotnet ef migrations add</c> creates its tables.
/// </summary>
public static class EventSourcingModelBuilderExtensions
{
    /// <summary>
    /// Adds the event store's entity types (events table <c>es_events</c> with its unique indexes, snapshots table <c>es_snapshots</c>) to the model.
    /// Call it from <c>OnModelCreating</c>.
    /// </summary>
    /// <param name="modelBuilder">The model builder of the user's DbContext.</param>
    /// <returns>The same model builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="modelBuilder"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The context's options lack <c>UseEventSourcing</c> (its saves would drop events).</exception>
    public static ModelBuilder IncludeEventStore(this ModelBuilder modelBuilder)
        => IncludeEventStore(modelBuilder, static _ => { });

    /// <summary>
    /// Adds the event store's entity types to the model, with the schema and table names set by <paramref name="configure"/>.
    /// </summary>
    /// <param name="modelBuilder">The model builder of the user's DbContext.</param>
    /// <param name="configure">Sets the schema and table names, for example <c>b => b.ToSchema("es")</c>.</param>
    /// <returns>The same model builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="modelBuilder"/> or <paramref name="configure"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The context's options lack <c>UseEventSourcing</c> (its saves would drop events).</exception>
    public static ModelBuilder IncludeEventStore(this ModelBuilder modelBuilder, Action<EventStoreBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        ArgumentNullException.ThrowIfNull(configure);
        if (modelBuilder.Model.FindAnnotation(EventStoreModel.ConfiguredAnnotation) is null)
        {
            // Without UseEventSourcing no interceptor runs: a save would write the entities and drop their events.
            throw new InvalidOperationException(Messages.IncludeEventStoreWithoutUseEventSourcing);
        }

        var options = new EventStoreBuilder();
        configure(options);

        modelBuilder.Entity<StoredEvent>(e =>
        {
            e.ToTable(options.EventsTable, options.Schema);
            e.HasKey(x => x.GlobalPosition).HasName("pk_" + options.EventsTable);
            e.Property(x => x.GlobalPosition).HasColumnName("global_position").ValueGeneratedOnAdd();
            e.Property(x => x.StreamType).HasColumnName("stream_type").HasMaxLength(StreamId.MaxLength).IsRequired();
            e.Property(x => x.StreamId).HasColumnName("stream_id").HasMaxLength(StreamId.MaxLength).IsRequired();
            e.Property(x => x.Sequence).HasColumnName("sequence");
            e.Property(x => x.EventId).HasColumnName("event_id").ValueGeneratedNever();
            e.Property(x => x.EventType).HasColumnName("event_type").HasMaxLength(EventTypeName.MaxLength).IsRequired();
            e.Property(x => x.EventVersion).HasColumnName("event_version");
            e.Property(x => x.Payload).HasColumnName("payload").IsRequired();
            e.Property(x => x.Metadata).HasColumnName("metadata");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");

            // The concurrency arbiter: a second writer of the same version fails inside its own SaveChanges.
            e.HasIndex(x => new { x.StreamType, x.StreamId, x.Sequence })
                .IsUnique()
                .HasDatabaseName("ux_" + options.EventsTable + "_stream")
                .HasAnnotation(EventStoreModel.StreamIndexAnnotation, true);
            e.HasIndex(x => x.EventId)
                .IsUnique()
                .HasDatabaseName("ux_" + options.EventsTable + "_event_id")
                .HasAnnotation(EventStoreModel.EventIdIndexAnnotation, true);
        });

        // One row per snapshot taken (normally only the newest is kept): insert-only, so concurrent writers never
        // overwrite each other, and loading takes the highest version.
        modelBuilder.Entity<StoredSnapshot>(e =>
        {
            e.ToTable(options.SnapshotsTable, options.Schema);
            e.HasKey(x => new { x.StreamType, x.StreamId, x.Version }).HasName("pk_" + options.SnapshotsTable);
            e.Property(x => x.StreamType).HasColumnName("stream_type").HasMaxLength(StreamId.MaxLength);
            e.Property(x => x.StreamId).HasColumnName("stream_id").HasMaxLength(StreamId.MaxLength);
            e.Property(x => x.Version).HasColumnName("version").ValueGeneratedNever();
            e.Property(x => x.SnapshotType).HasColumnName("snapshot_type").HasMaxLength(StreamId.MaxLength).IsRequired();
            e.Property(x => x.SchemaVersion).HasColumnName("schema_version");
            e.Property(x => x.Fingerprint).HasColumnName("fingerprint").HasMaxLength(64).IsRequired();
            e.Property(x => x.State).HasColumnName("state").IsRequired();
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
        });

        modelBuilder.Entity<ProjectionCheckpoint>(e =>
        {
            e.ToTable(options.CheckpointsTable, options.Schema);
            e.HasKey(x => x.Projection).HasName("pk_" + options.CheckpointsTable);
            e.Property(x => x.Projection).HasColumnName("projection").HasMaxLength(Projection.MaxNameLength).ValueGeneratedNever();

            // Concurrency tokens: of two runners of one projection, only the first can move the checkpoint on.
            e.Property(x => x.Position).HasColumnName("position").IsConcurrencyToken();
            e.Property(x => x.TransactionId).HasColumnName("tx_id").IsConcurrencyToken();
            e.Property(x => x.SystemIdentifier).HasColumnName("system_identifier");
            e.Property(x => x.UpdatedAt).HasColumnName("updated_at");
        });

        // One row per event a projection skipped under ProjectionErrorPolicy.DeadLetter, written in the batch's save.
        modelBuilder.Entity<ProjectionDeadLetter>(e =>
        {
            e.ToTable(options.DeadLettersTable, options.Schema);
            e.HasKey(x => new { x.Projection, x.GlobalPosition }).HasName("pk_" + options.DeadLettersTable);
            e.Property(x => x.Projection).HasColumnName("projection").HasMaxLength(Projection.MaxNameLength).ValueGeneratedNever();
            e.Property(x => x.GlobalPosition).HasColumnName("global_position").ValueGeneratedNever();
            e.Property(x => x.TransactionId).HasColumnName("tx_id");
            e.Property(x => x.StreamType).HasColumnName("stream_type").HasMaxLength(StreamId.MaxLength).IsRequired();
            e.Property(x => x.StreamId).HasColumnName("stream_id").HasMaxLength(StreamId.MaxLength).IsRequired();
            e.Property(x => x.Version).HasColumnName("version");
            e.Property(x => x.EventId).HasColumnName("event_id");
            e.Property(x => x.EventType).HasColumnName("event_type").HasMaxLength(EventTypeName.MaxLength).IsRequired();
            e.Property(x => x.ErrorType).HasColumnName("error_type").IsRequired();
            e.Property(x => x.Error).HasColumnName("error").IsRequired();
            e.Property(x => x.Attempts).HasColumnName("attempts");
            e.Property(x => x.FailedAt).HasColumnName("failed_at");
        });

        OutboxModel.Configure(modelBuilder, options);
        return modelBuilder;
    }
}
