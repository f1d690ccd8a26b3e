using EventSourcing.EFCore.PostgreSQL.Storage.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;

namespace EventSourcing.EFCore.PostgreSQL.ProviderInternals;

/// <summary>
/// Keeps the stream guard annotation on a DropTable of the events table (for example in a migration's Down), so that
/// the migrations SQL generator drops the guard's function with the table: the trigger goes with the table, the
/// function would stay behind.
/// </summary>
#pragma warning disable EF1001 // Its dependencies object is EF's internal API; the provider itself is the documented extension point.
internal sealed class NpgsqlEventStoreMigrationsAnnotationProvider(MigrationsAnnotationProviderDependencies dependencies)
    : MigrationsAnnotationProvider(dependencies)
#pragma warning restore EF1001
{
    public override IEnumerable<IAnnotation> ForRemove(ITable table)
    {
        foreach (var annotation in base.ForRemove(table))
        {
            yield return annotation;
        }

        if (table[NpgsqlEventStoreSchema.StreamGuardAnnotation] is { } guard && StreamGuardColumns.IsGuard(guard))
        {
            yield return new Annotation(NpgsqlEventStoreSchema.StreamGuardAnnotation, guard);
        }
    }
}
