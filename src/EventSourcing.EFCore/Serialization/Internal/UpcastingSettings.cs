using System.Collections.Immutable;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// What <c>UseEventSourcing</c> registered for reading older events: upcasters, aliases of renamed names, names
/// declared obsolete, renamed metadata keys. Immutable; validated when <see cref="EventUpcasting"/> is built.
/// </summary>
internal sealed record UpcastingSettings
{
    public static UpcastingSettings Empty { get; } = new();

    public ImmutableArray<Upcaster> Upcasters { get; init; } = [];

    /// <summary>Gets the (current name, earlier name) pairs registered with <c>MapEvent(…, aliases)</c>.</summary>
    public ImmutableArray<(string Name, string Alias)> Aliases { get; init; } = [];

    public ImmutableArray<string> ObsoleteNames { get; init; } = [];

    public ImmutableArray<(string OldKey, string NewKey)> MetadataKeyRenames { get; init; } = [];
}
