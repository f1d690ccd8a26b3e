using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Metadata.Conventions;

namespace EventSourcing.EFCore.PostgreSQL.OutboxInternal;

/// <summary>Gives the outbox entity its PostgreSQL shape when the model is finalized: jsonb payload and headers.</summary>
internal sealed class NpgsqlOutboxConvention : IModelFinalizingConvention
{
    public void ProcessModelFinalizing(IConventionModelBuilder modelBuilder, IConventionContext<IConventionModelBuilder> context)
    {
        if (modelBuilder.Metadata.FindEntityType(typeof(StoredOutboxMessage)) is not { } outbox)
        {
            return;
        }

        outbox.FindProperty(nameof(StoredOutboxMessage.Payload))!.Builder.HasColumnType("jsonb");
        outbox.FindProperty(nameof(StoredOutboxMessage.Headers))!.Builder.HasColumnType("jsonb");
    }
}
