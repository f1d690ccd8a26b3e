using EventSourcing.EFCore.PostgreSQL.Storage.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata.Internal;

namespace EventSourcing.EFCore.PostgreSQL.ProviderInternals;

/// <summary>
/// Carries the stream guard annotation from the events entity to its table, so that migrations (and EnsureCreated)
/// see it on CreateTable/AlterTable operations. Extends Npgsql's provider (an EF internal API, hence EF1001).
/// </summary>
#pragma warning disable EF1001 // Internal EF Core API usage: Npgsql's annotation provider is the documented extension point.
internal sealed class NpgsqlEventStoreAnnotationProvider(RelationalAnnotationProviderDependencies dependencies)
    : NpgsqlAnnotationProvider(dependencies)
{
    public override IEnumerable<IAnnotation> For(ITable table, bool designTime)
    {
        foreach (var annotation in base.For(table, designTime))
        {
            yield return annotation;
        }

        if (table.EntityTypeMappings.Any(m => m.TypeBase.FindAnnotation(NpgsqlEventStoreSchema.StreamGuardAnnotation) is not null))
        {
            // The guard's revision and the column names it reads: a rename or a new guard body is a model change.
            yield return new Annotation(NpgsqlEventStoreSchema.StreamGuardAnnotation, StreamGuardColumns.Of(table).ToAnnotation());
        }
    }
}
