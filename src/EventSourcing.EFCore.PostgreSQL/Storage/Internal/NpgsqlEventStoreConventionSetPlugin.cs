using EventSourcing.EFCore.PostgreSQL.OutboxInternal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Metadata.Conventions.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata.Conventions;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.PostgreSQL.Storage.Internal;

/// <summary>Adds <see cref="NpgsqlEventStoreConvention"/> to the model's conventions.</summary>
internal sealed class NpgsqlEventStoreConventionSetPlugin : IConventionSetPlugin
{
    public ConventionSet ModifyConventions(ConventionSet conventionSet)
    {
        conventionSet.ModelFinalizingConventions.Add(new NpgsqlEventStoreConvention());
        conventionSet.ModelFinalizingConventions.Add(new NpgsqlOutboxConvention());
        return conventionSet;
    }
}

/// <summary>
/// Gives the events entity its PostgreSQL shape when the model is finalized: jsonb payload and metadata, the
/// <c>tx_id xid8 DEFAULT pg_current_xact_id()</c> shadow column with its (tx_id, global_position) index for gap-safe
/// read-all, and the stream guard annotation that the migrations SQL generator turns into a trigger.
/// </summary>
internal sealed class NpgsqlEventStoreConvention : IModelFinalizingConvention
{
    public void ProcessModelFinalizing(IConventionModelBuilder modelBuilder, IConventionContext<IConventionModelBuilder> context)
    {
        if (modelBuilder.Metadata.FindEntityType(typeof(StoredEvent)) is not { } events)
        {
            return;
        }

        var builder = events.Builder;
        events.FindProperty(nameof(StoredEvent.Payload))!.Builder.HasColumnType("jsonb");
        events.FindProperty(nameof(StoredEvent.Metadata))!.Builder.HasColumnType("jsonb");

        var transactionId = builder.Property(typeof(ulong), EventStoreModel.TransactionIdProperty)!;
        transactionId.HasColumnName(NpgsqlEventStoreSchema.TransactionIdColumn);
        transactionId.HasColumnType("xid8");
        transactionId.HasDefaultValueSql("pg_current_xact_id()");
        transactionId.ValueGenerated(ValueGenerated.OnAdd);

        var table = events.GetTableName() ?? "es_events";
        var position = events.FindProperty(nameof(StoredEvent.GlobalPosition))!;
        builder.HasIndex([transactionId.Metadata, position])!
            .HasDatabaseName(NpgsqlEventStoreSchema.ReadAllIndexName(table));
        builder.HasAnnotation(NpgsqlEventStoreSchema.StreamGuardAnnotation, true);

        modelBuilder.Metadata.FindEntityType(typeof(StoredSnapshot))?.FindProperty(nameof(StoredSnapshot.State))!.Builder.HasColumnType("jsonb");

        // Projection checkpoints store the same (tx_id, position) pair as the events.
        modelBuilder.Metadata.FindEntityType(typeof(ProjectionCheckpoint))?
            .FindProperty(nameof(ProjectionCheckpoint.TransactionId))!.Builder.HasColumnType("xid8");
        modelBuilder.Metadata.FindEntityType(typeof(ProjectionDeadLetter))?
            .FindProperty(nameof(ProjectionDeadLetter.TransactionId))!.Builder.HasColumnType("xid8");
    }
}
