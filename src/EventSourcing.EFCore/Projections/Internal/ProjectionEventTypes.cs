using EventSourcing.EFCore.Serialization.Internal;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>The stored type names a catch-up projection reads: those of the registered event types it has a handler for.</summary>
internal static class ProjectionEventTypes
{
    public static string[] Of(Projection projection, EventTypeRegistry registry)
        => registry.Mappings
            .Where(m => projection.Handles(m.ClrType))
            .Select(m => m.Name)
            .Order(StringComparer.Ordinal)
            .ToArray();
}
