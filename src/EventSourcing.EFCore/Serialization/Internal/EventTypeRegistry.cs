using System.Collections.Concurrent;
using System.Reflection;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// The registry of event types: stable stored name ↔ CLR type. Built once per options, validated when built: two
/// types under one name and version, one type under two names, or an unusable name fail with a message naming them.
/// A name may have types of several versions: the highest is current (appended and read), the others are older
/// versions that upcasters read (see <see cref="EventUpcasting"/>).
/// </summary>
internal sealed class EventTypeRegistry
{
    private static readonly ConcurrentDictionary<Assembly, EventTypeMapping[]> AssemblyScans = new();

    private readonly Dictionary<Type, EventTypeMapping> _byType;
    private readonly Dictionary<string, EventTypeMapping> _byName;

    private EventTypeRegistry(Dictionary<Type, EventTypeMapping> byType, Dictionary<string, EventTypeMapping> byName)
    {
        _byType = byType;
        _byName = byName;
    }

    public static EventTypeRegistry Empty { get; } = new(new(), new(StringComparer.Ordinal));

    public IReadOnlyCollection<EventTypeMapping> Mappings => _byType.Values;

    /// <summary>Builds a registry from scanned assemblies and explicit mappings; throws InvalidOperationException when they clash.</summary>
    public static EventTypeRegistry Build(IEnumerable<Assembly> assemblies, IEnumerable<EventTypeMapping> explicitMappings)
    {
        var byType = new Dictionary<Type, EventTypeMapping>();
        var byName = new Dictionary<string, EventTypeMapping>(StringComparer.Ordinal);
        foreach (var mapping in assemblies.SelectMany(a => AssemblyScans.GetOrAdd(a, Scan)).Concat(explicitMappings))
        {
            Validate(mapping);
            if (byType.TryGetValue(mapping.ClrType, out var existingForType))
            {
                if (existingForType != mapping)
                {
                    throw new InvalidOperationException(existingForType.Name == mapping.Name
                        ? Messages.EventTypeVersionedTwice(mapping.ClrType, mapping.Name, existingForType.Version, mapping.Version)
                        : Messages.EventTypeMappedTwice(mapping.ClrType, existingForType.Name, mapping.Name));
                }

                continue;
            }

            if (byName.TryGetValue(mapping.Name, out var existingForName))
            {
                // Several versions of one name: the highest is the current type, the others are read only through upcasters.
                if (byType.Values.FirstOrDefault(m => m.Name == mapping.Name && m.Version == mapping.Version) is { } sameVersion)
                {
                    throw new InvalidOperationException(Messages.EventNameClash(mapping.Name, mapping.Version, sameVersion.ClrType, mapping.ClrType));
                }

                byType.Add(mapping.ClrType, mapping);
                byName[mapping.Name] = existingForName.Version > mapping.Version ? existingForName : mapping;
                continue;
            }

            byType.Add(mapping.ClrType, mapping);
            byName.Add(mapping.Name, mapping);
        }

        return new EventTypeRegistry(byType, byName);
    }

    /// <summary>Returns the mapping of <paramref name="clrType"/>; throws <see cref="UnknownEventTypeException"/> when it is not registered.</summary>
    public EventTypeMapping GetByType(Type clrType)
        => _byType.TryGetValue(clrType, out var mapping) ? mapping : throw new UnknownEventTypeException(clrType);

    /// <summary>Returns the current mapping of <paramref name="name"/>; throws <see cref="UnknownEventTypeException"/> when there is none.</summary>
    public EventTypeMapping GetByName(string name)
        => _byName.TryGetValue(name, out var mapping) ? mapping : throw new UnknownEventTypeException(name);

    public bool TryGetByType(Type clrType, out EventTypeMapping? mapping) => _byType.TryGetValue(clrType, out mapping);

    public bool TryGetByName(string name, out EventTypeMapping? mapping) => _byName.TryGetValue(name, out mapping);

    internal static void Validate(EventTypeMapping mapping)
    {
        var type = mapping.ClrType;
        if (EventTypeName.Problem(mapping.Name) is { } problem)
        {
            throw new InvalidOperationException(Messages.UnusableEventName(type, mapping.Name, problem));
        }

        if (type.IsAbstract || type.IsInterface || type.ContainsGenericParameters)
        {
            throw new InvalidOperationException(Messages.EventTypeNotConcrete(type));
        }

        if (mapping.Version < 1)
        {
            throw new InvalidOperationException(Messages.EventVersionInvalid(type, mapping.Version));
        }
    }

    private static EventTypeMapping[] Scan(Assembly assembly)
    {
        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            types = e.Types.Where(t => t is not null).ToArray()!;
        }

        return types
            .Select(t => (Type: t, Attribute: t.GetCustomAttribute<EventTypeAttribute>(inherit: false)))
            .Where(x => x.Attribute is not null)
            .Select(x => new EventTypeMapping(x.Type, x.Attribute!.Name, x.Attribute.Version))
            .OrderBy(m => m.ClrType.FullName, StringComparer.Ordinal)
            .ToArray();
    }
}
