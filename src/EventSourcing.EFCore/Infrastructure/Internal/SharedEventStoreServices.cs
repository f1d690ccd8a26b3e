using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using EventSourcing.EFCore.Aggregates.Internal;
using EventSourcing.EFCore.Serialization.Internal;
using EventSourcing.EFCore.Snapshots.Internal;

namespace EventSourcing.EFCore.Infrastructure.Internal;

/// <summary>
/// The event type registry and the serializers, built once per distinct configuration and shared by every options
/// instance that has it. <c>AddDbContext</c> builds new options (and so a new <see cref="EventSourcingOptionsExtension"/>)
/// per scope; without this cache each scope would rebuild the registry and start cold JSON metadata caches.
/// A registry is keyed by the event assemblies and explicit mappings; serializers by the <see cref="JsonSerializerOptions"/>
/// instance (held weakly), with one shared pair for the default options.
/// </summary>
internal static class SharedEventStoreServices
{
    private const int MaxRegistries = 256;

    private static readonly ConcurrentDictionary<string, EventTypeRegistry> Registries = new(StringComparer.Ordinal);
    private static readonly ConditionalWeakTable<JsonSerializerOptions, Serializers> ByOptions = [];
    private static readonly Lazy<Serializers> Default = new(() => new Serializers(null));
    private static int _registryBuilds;

    /// <summary>Gets how many registries were built in this process (a test reads it to prove the cache works).</summary>
    public static int RegistryBuilds => Volatile.Read(ref _registryBuilds);

    public static EventTypeRegistry Registry(IReadOnlyList<Assembly> assemblies, IReadOnlyList<EventTypeMapping> mappings)
    {
        var key = Key(assemblies, mappings);
        if (Registries.TryGetValue(key, out var registry))
        {
            return registry;
        }

        registry = EventTypeRegistry.Build(assemblies, mappings);
        AggregateTypeName.ValidateAll(assemblies);
        Interlocked.Increment(ref _registryBuilds);
        if (Registries.Count >= MaxRegistries)
        {
            Registries.Clear(); // configurations generated without end (a bug in the caller): stay bounded
        }

        return Registries.GetOrAdd(key, registry);
    }

    public static EventSerializer EventSerializer(JsonSerializerOptions? options) => For(options).Events;

    public static SnapshotSerializer SnapshotSerializer(JsonSerializerOptions? options) => For(options).Snapshots;

    private static Serializers For(JsonSerializerOptions? options)
        => options is null ? Default.Value : ByOptions.GetValue(options, static o => new Serializers(o));

    private static string Key(IReadOnlyList<Assembly> assemblies, IReadOnlyList<EventTypeMapping> mappings)
    {
        var key = new StringBuilder();
        foreach (var assembly in assemblies)
        {
            key.Append("A:").Append(assembly.FullName).Append('|').Append(RuntimeHelpers.GetHashCode(assembly)).Append('\n');
        }

        foreach (var mapping in mappings)
        {
            key.Append("M:").Append(mapping.ClrType.AssemblyQualifiedName).Append('|').Append(RuntimeHelpers.GetHashCode(mapping.ClrType))
                .Append('|').Append(mapping.Name).Append('|').Append(mapping.Version).Append('\n');
        }

        return key.ToString();
    }

    private sealed class Serializers(JsonSerializerOptions? options)
    {
        public EventSerializer Events { get; } = new(options ?? new JsonSerializerOptions(JsonSerializerDefaults.Web));

        public SnapshotSerializer Snapshots { get; } = new(options);
    }
}
