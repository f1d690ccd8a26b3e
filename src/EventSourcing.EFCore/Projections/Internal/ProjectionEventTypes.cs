using EventSourcing.EFCore.Serialization.Internal;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// The stored type names a catch-up projection reads: those of the registered event types it has a handler for, with
/// their aliases (rows stored under an older name read as the current type).
/// </summary>
internal static class ProjectionEventTypes
{
    public static string[] Of(Projection projection, EventTypeRegistry registry, EventUpcasting upcasting)
        => registry.Mappings
            .Where(m => projection.Handles(m.ClrType))
            .SelectMany(m => upcasting.StoredNamesOf(m.Name))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToArray();
}
