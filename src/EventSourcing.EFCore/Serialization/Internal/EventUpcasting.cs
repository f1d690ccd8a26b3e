using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// Reads events written by earlier releases as the current types: follows aliases of renamed names, runs the upcaster
/// chain of a stored version, recognises obsolete names, renames metadata keys. Built and validated once per options
/// (at start-up): every chain goes up without a gap to the current version, no version has two ways up, every older
/// registered version is reachable, aliases and obsolete names clash with nothing; each violation is an
/// <see cref="InvalidOperationException"/> naming the type, the name and the versions.
/// </summary>
internal sealed class EventUpcasting
{
    private static readonly ConditionalWeakTable<EventTypeRegistry, StrongBox<EventUpcasting>> WithoutSettings = [];

    private readonly EventTypeRegistry _registry;
    private readonly Dictionary<string, NameEntry> _names;
    private readonly Dictionary<string, string>? _metadataRenames;

    private EventUpcasting(EventTypeRegistry registry, Dictionary<string, NameEntry> names, Dictionary<string, string>? metadataRenames)
    {
        _registry = registry;
        _names = names;
        _metadataRenames = metadataRenames;
    }

    /// <summary>Returns the stored names that read as <paramref name="name"/>: the name itself and its aliases.</summary>
    public IEnumerable<string> StoredNamesOf(string name)
    {
        yield return name;
        foreach (var (stored, entry) in _names)
        {
            if (!entry.Obsolete && entry.Name == name && stored != name)
            {
                yield return stored;
            }
        }
    }

    /// <summary>Gets a value indicating whether nothing but the current types is read (no upcaster, alias or obsolete name).</summary>
    public bool IsEmpty => _names.Count == 0 && _metadataRenames is null;

    /// <summary>Builds the chains of <paramref name="registry"/> and <paramref name="settings"/>; throws <see cref="InvalidOperationException"/> when they are broken.</summary>
    public static EventUpcasting Build(EventTypeRegistry registry, UpcastingSettings settings, JsonSerializerOptions options)
    {
        if (settings == UpcastingSettings.Empty)
        {
            // Only attributes (aliases, older versions) can add chains: shared by every options instance of this registry.
            return WithoutSettings.GetValue(registry, r => new StrongBox<EventUpcasting>(BuildCore(r, settings, options))).Value!;
        }

        return BuildCore(registry, settings, options);
    }

    private static EventUpcasting BuildCore(EventTypeRegistry registry, UpcastingSettings settings, JsonSerializerOptions options)
    {
        var names = new Dictionary<string, NameEntry>(StringComparer.Ordinal);
        var byName = registry.Mappings.GroupBy(m => m.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        var obsolete = new HashSet<string>(settings.ObsoleteNames, StringComparer.Ordinal);
        var aliases = Aliases(registry, settings, byName, obsolete);

        // Upcasters, each with its name and versions (typed ones from their registered types), grouped by name.
        var upcasters = new Dictionary<string, Dictionary<int, Upcaster>>(StringComparer.Ordinal);
        foreach (var registered in settings.Upcasters)
        {
            var upcaster = Resolve(registry, registered);
            var name = upcaster.Name!;
            if (!byName.ContainsKey(name))
            {
                throw new InvalidOperationException(
                    aliases.TryGetValue(name, out var aliased) ? Messages.UpcasterNameIsAlias(name, aliased)
                    : obsolete.Contains(name) ? Messages.UpcasterNameObsolete(name)
                    : Messages.UpcasterNameUnknown(name));
            }

            if (upcaster.FromVersion < 1)
            {
                throw new InvalidOperationException(Messages.UpcasterVersionInvalid(name, upcaster.FromVersion));
            }

            if (upcaster.ToVersion <= upcaster.FromVersion)
            {
                throw new InvalidOperationException(Messages.UpcasterBackwards(name, upcaster.FromVersion, upcaster.ToVersion));
            }

            var current = registry.GetByName(name);
            if (upcaster.ToVersion > current.Version)
            {
                throw new InvalidOperationException(Messages.UpcasterBeyondCurrent(name, upcaster.FromVersion, upcaster.ToVersion, current.Version, current.ClrType));
            }

            var steps = upcasters.TryGetValue(name, out var s) ? s : upcasters[name] = [];
            if (steps.TryGetValue(upcaster.FromVersion, out var other))
            {
                throw new InvalidOperationException(Messages.UpcasterTwice(name, upcaster.FromVersion, other.ToVersion, upcaster.ToVersion));
            }

            steps.Add(upcaster.FromVersion, upcaster);
        }

        // Every older registered version needs a way up.
        foreach (var (name, mappings) in byName)
        {
            var current = registry.GetByName(name);
            foreach (var older in mappings.Where(m => m.Version < current.Version).OrderBy(m => m.Version))
            {
                if (!upcasters.TryGetValue(name, out var steps) || !steps.ContainsKey(older.Version))
                {
                    throw new InvalidOperationException(Messages.OlderVersionUnreachable(name, older.Version, older.ClrType, current.Version, current.ClrType));
                }
            }
        }

        // Every chain reaches the current version without a gap.
        foreach (var (name, steps) in upcasters)
        {
            var current = registry.GetByName(name);
            var chains = new Dictionary<int, UpcasterChain>();
            foreach (var start in steps.Keys.Order())
            {
                var path = new List<Upcaster>();
                var version = start;
                while (version != current.Version)
                {
                    if (!steps.TryGetValue(version, out var step))
                    {
                        throw new InvalidOperationException(Messages.UpcasterChainGap(name, start, version, current.Version, current.ClrType));
                    }

                    path.Add(step);
                    version = step.ToVersion;
                }

                chains.Add(start, new UpcasterChain(current, [.. path], options));
            }

            names[name] = new NameEntry(name, current, chains, Obsolete: false);
        }

        foreach (var (alias, name) in aliases)
        {
            names[alias] = names.TryGetValue(name, out var entry) ? entry : new NameEntry(name, registry.GetByName(name), [], Obsolete: false);
        }

        foreach (var name in obsolete)
        {
            names[name] = new NameEntry(name, null, [], Obsolete: true);
        }

        return new EventUpcasting(registry, names, MetadataRenames(settings));
    }

    /// <summary>Returns true when <paramref name="eventType"/> at <paramref name="version"/> is a current type, read as stored (no alias, upcaster or obsolete name).</summary>
    public bool IsCurrent(string eventType, int version, out Type clrType)
    {
        if (_registry.TryGetByName(eventType, out var mapping) && mapping!.Version == version)
        {
            clrType = mapping.ClrType;
            return true;
        }

        clrType = null!;
        return false;
    }

    /// <summary>
    /// Turns a stored event type name, version and payload into the current type: the stored JSON when it is already
    /// current, or the object the upcasters made, or an <see cref="ObsoleteEvent"/>. Deserialization (and so its
    /// <see cref="JsonException"/>s) stays with the caller when no upcaster ran.
    /// </summary>
    /// <exception cref="UnknownEventTypeException">No registered type, alias, chain or obsolete declaration reads the name and version.</exception>
    /// <exception cref="EventUpcastException">An upcaster failed.</exception>
    /// <exception cref="JsonException">The payload is not valid JSON for an upcaster chain.</exception>
    public UpcastPayload Upcast(StreamId streamId, long streamVersion, string eventType, int version, string json)
    {
        if (_registry.TryGetByName(eventType, out var mapping) && mapping!.Version == version)
        {
            return new UpcastPayload(eventType, mapping.ClrType, version, json, null);
        }

        if (!_names.TryGetValue(eventType, out var entry))
        {
            throw mapping is null ? new UnknownEventTypeException(eventType) : new UnknownEventTypeException(eventType, version);
        }

        if (entry.Obsolete)
        {
            return new UpcastPayload(eventType, typeof(ObsoleteEvent), version, null, new ObsoleteEvent(eventType, version, json));
        }

        var current = entry.Current!;
        if (version == current.Version)
        {
            return new UpcastPayload(entry.Name, current.ClrType, version, json, null); // stored under an alias
        }

        return entry.Chains.TryGetValue(version, out var chain)
            ? new UpcastPayload(entry.Name, current.ClrType, current.Version, null, chain.Run(json, streamId, streamVersion))
            : throw new UnknownEventTypeException(eventType, version);
    }

    /// <summary>
    /// Returns the current name and JSON of a stored event, for a message that carries JSON (the outbox): the stored
    /// JSON when no upcaster runs (or the type is obsolete: it goes out as stored), else the upcast object serialized.
    /// </summary>
    public (string EventType, int Version, string Json) UpcastJson(
        StreamId streamId, long streamVersion, string eventType, int version, string json, EventSerializer serializer)
    {
        if (IsEmpty)
        {
            return (eventType, version, json);
        }

        var payload = Upcast(streamId, streamVersion, eventType, version, json);
        return payload switch
        {
            { Json: { } same } => (payload.EventType, payload.ReceivedVersion, same),
            { IsObsolete: true } => (eventType, version, json),
            _ => (payload.EventType, payload.ReceivedVersion, serializer.Serialize(payload.Data!, payload.ClrType)),
        };
    }

    /// <summary>Reads stored metadata (see <see cref="EventSerializer.DeserializeMetadata"/>) with renamed keys under their new names.</summary>
    public IReadOnlyDictionary<string, string> ReadMetadata(string? json)
        => RenameMetadataKeys(EventSerializer.DeserializeMetadata(json));

    /// <summary>
    /// Moves each renamed key to its new name, unless the new name is present too (then both stay, as stored: nothing is
    /// overwritten).
    /// </summary>
    public IReadOnlyDictionary<string, string> RenameMetadataKeys(IReadOnlyDictionary<string, string> metadata)
    {
        if (_metadataRenames is null || metadata.Count == 0 || !metadata.Keys.Any(_metadataRenames.ContainsKey))
        {
            return metadata;
        }

        var renamed = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        foreach (var (oldKey, value) in metadata)
        {
            if (_metadataRenames.TryGetValue(oldKey, out var newKey) && !metadata.ContainsKey(newKey))
            {
                renamed.Remove(oldKey);
                renamed[newKey] = value;
            }
        }

        return renamed;
    }

    private static Upcaster Resolve(EventTypeRegistry registry, Upcaster upcaster)
    {
        if (upcaster.Json is not null)
        {
            return upcaster;
        }

        if (!registry.TryGetByType(upcaster.FromType!, out var from))
        {
            throw new InvalidOperationException(Messages.UpcasterTypeNotRegistered(upcaster.FromType!, "source"));
        }

        if (!registry.TryGetByType(upcaster.ToType!, out var to))
        {
            throw new InvalidOperationException(Messages.UpcasterTypeNotRegistered(upcaster.ToType!, "target"));
        }

        if (!string.Equals(from!.Name, to!.Name, StringComparison.Ordinal))
        {
            throw new InvalidOperationException(Messages.UpcasterTypesDiffer(from.ClrType, from.Name, to.ClrType, to.Name));
        }

        return upcaster.Resolved(from.Name, from.Version, to.Version);
    }

    /// <summary>Returns alias → current name, from <c>MapEvent(…, aliases)</c> and <see cref="EventTypeAliasAttribute"/>, validated.</summary>
    private static Dictionary<string, string> Aliases(
        EventTypeRegistry registry, UpcastingSettings settings, Dictionary<string, EventTypeMapping[]> byName, HashSet<string> obsolete)
    {
        foreach (var name in obsolete)
        {
            if (byName.TryGetValue(name, out var registered))
            {
                throw new InvalidOperationException(Messages.ObsoleteNameRegistered(name, registered[0].ClrType));
            }
        }

        var declared = settings.Aliases.Concat(
            registry.Mappings
                .Where(m => registry.GetByName(m.Name) == m)
                .SelectMany(m => m.ClrType.GetCustomAttributes<EventTypeAliasAttribute>(inherit: false).Select(a => (m.Name, Alias: a.Name))));
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, alias) in declared)
        {
            if (!byName.ContainsKey(name))
            {
                throw new InvalidOperationException(Messages.AliasOfUnknownName(alias, name));
            }

            if (EventTypeName.Problem(alias) is { } problem)
            {
                throw new InvalidOperationException(Messages.UnusableEventName(registry.GetByName(name).ClrType, alias, problem));
            }

            var clash = byName.ContainsKey(alias) ? $"the name of the registered type '{byName[alias][0].ClrType.FullName}'"
                : obsolete.Contains(alias) ? "declared obsolete"
                : aliases.TryGetValue(alias, out var other) && other != name ? $"an alias of '{other}'"
                : null;
            if (clash is not null)
            {
                throw new InvalidOperationException(Messages.AliasClash(alias, name, clash));
            }

            aliases[alias] = name;
        }

        return aliases;
    }

    private static Dictionary<string, string>? MetadataRenames(UpcastingSettings settings)
    {
        if (settings.MetadataKeyRenames.IsEmpty)
        {
            return null;
        }

        var renames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (oldKey, newKey) in settings.MetadataKeyRenames)
        {
            if (renames.TryGetValue(oldKey, out var first) && first != newKey)
            {
                throw new InvalidOperationException(Messages.MetadataRenameClash(oldKey, first, newKey));
            }

            renames[oldKey] = newKey;
        }

        // a → b → c reads a as c; a cycle has no final name.
        var final = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in renames.Keys)
        {
            var target = renames[key];
            var seen = new HashSet<string>(StringComparer.Ordinal) { key };
            while (renames.TryGetValue(target, out var next))
            {
                if (!seen.Add(target))
                {
                    throw new InvalidOperationException(Messages.MetadataRenameCycle(key));
                }

                target = next;
            }

            if (target == key)
            {
                throw new InvalidOperationException(Messages.MetadataRenameCycle(key));
            }

            final[key] = target;
        }

        return final;
    }

    /// <summary>How a stored name reads: its current name and type, the chain of each older version, or obsolete.</summary>
    private sealed record NameEntry(string Name, EventTypeMapping? Current, Dictionary<int, UpcasterChain> Chains, bool Obsolete);
}
