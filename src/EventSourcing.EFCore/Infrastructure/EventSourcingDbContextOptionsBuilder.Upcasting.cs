using System.Text.Json.Nodes;
using EventSourcing.EFCore.Serialization.Internal;

namespace EventSourcing.EFCore.Infrastructure;

/// <summary>Reading events written by earlier releases: upcasters, aliases, obsolete names, renamed metadata keys.</summary>
public sealed partial class EventSourcingDbContextOptionsBuilder
{
    /// <summary>
    /// Registers a typed upcaster: every stored event of <typeparamref name="TFrom"/>'s version is read as a
    /// <typeparamref name="TTo"/> made by <paramref name="upcast"/> (and on through the next upcaster to the current
    /// version). Both types are registered under the same name, with <typeparamref name="TTo"/>'s version higher.
    /// Chains are checked when the options are first used.
    /// </summary>
    /// <typeparam name="TFrom">The older event type, e.g. <c>[EventType("order.placed", Version = 1)] OrderPlacedV1</c>.</typeparam>
    /// <typeparam name="TTo">The newer event type of the same name.</typeparam>
    /// <param name="upcast">Makes the newer event from the older one; it must not return null.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="upcast"/> is null.</exception>
    public EventSourcingDbContextOptionsBuilder Upcast<TFrom, TTo>(Func<TFrom, TTo> upcast)
        where TFrom : notnull
        where TTo : notnull
    {
        ArgumentNullException.ThrowIfNull(upcast);
        return WithUpcasting(s => s with { Upcasters = s.Upcasters.Add(Upcaster.OnTypes(typeof(TFrom), typeof(TTo), from => upcast((TFrom)from))) });
    }

    /// <summary>
    /// Registers an upcaster on the stored JSON, for versions whose class no longer exists: every stored event named
    /// <paramref name="eventType"/> at <paramref name="fromVersion"/> is read as version <paramref name="toVersion"/>
    /// by changing its JSON (property names as stored, e.g. camelCase with the default options). Chains are checked
    /// when the options are first used: no gap, no step back, one step per version, the last reaching the current type.
    /// </summary>
    /// <param name="eventType">The stable name of the current event type.</param>
    /// <param name="fromVersion">The stored version the upcaster reads.</param>
    /// <param name="toVersion">The version it produces (higher).</param>
    /// <param name="upcast">Changes the JSON object (it may change and return the same node); it must not return null.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="eventType"/> is null, empty or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="upcast"/> is null.</exception>
    public EventSourcingDbContextOptionsBuilder Upcast(string eventType, int fromVersion, int toVersion, Func<JsonNode, JsonNode> upcast)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventType);
        ArgumentNullException.ThrowIfNull(upcast);
        return WithUpcasting(s => s with { Upcasters = s.Upcasters.Add(Upcaster.OnJson(eventType, fromVersion, toVersion, upcast)) });
    }

    /// <summary>
    /// Registers <typeparamref name="TEvent"/> under the stable name <paramref name="name"/>, and reads events stored
    /// under the earlier names <paramref name="aliases"/> (before a rename) as this type.
    /// </summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="name">The stable name stored with each new event of this type.</param>
    /// <param name="version">The schema version of the event type (default 1).</param>
    /// <param name="aliases">Earlier names of the type; stored rows under them keep their version.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="aliases"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The name is not usable or the version is below 1.</exception>
    public EventSourcingDbContextOptionsBuilder MapEvent<TEvent>(string name, int version = 1, params string[] aliases)
        => MapEvent(typeof(TEvent), name, version, aliases);

    /// <summary>
    /// Registers <paramref name="eventType"/> under the stable name <paramref name="name"/>, and reads events stored
    /// under the earlier names <paramref name="aliases"/> as this type.
    /// </summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="name">The stable name stored with each new event of this type.</param>
    /// <param name="version">The schema version of the event type (default 1).</param>
    /// <param name="aliases">Earlier names of the type; stored rows under them keep their version.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="eventType"/> or <paramref name="aliases"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The name is not usable or the version is below 1.</exception>
    public EventSourcingDbContextOptionsBuilder MapEvent(Type eventType, string name, int version = 1, params string[] aliases)
    {
        ArgumentNullException.ThrowIfNull(aliases);
        MapEvent(eventType, name, version);
        return aliases.Length == 0
            ? this
            : WithUpcasting(s => s with { Aliases = s.Aliases.AddRange(aliases.Select(alias => (name, alias))) });
    }

    /// <summary>
    /// Declares the retired event type <paramref name="eventType"/> obsolete: its stored events (all versions) are
    /// skipped by aggregates, projections and live folds, and returned by <c>ReadStreamAsync</c> and <c>ReadAllAsync</c>
    /// as an <see cref="ObsoleteEvent"/> (type name, version, stored JSON) with <see cref="RecordedEvent.IsObsolete"/> set.
    /// No type may be registered under the name.
    /// </summary>
    /// <param name="eventType">The stored name of the retired type.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="eventType"/> is null, empty or white space.</exception>
    public EventSourcingDbContextOptionsBuilder DeclareObsolete(string eventType)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventType);
        return WithUpcasting(s => s.ObsoleteNames.Contains(eventType) ? s : s with { ObsoleteNames = s.ObsoleteNames.Add(eventType) });
    }

    /// <summary>
    /// Reads the metadata key <paramref name="oldKey"/> of stored events as <paramref name="newKey"/> (on every read
    /// path and in outbox headers). A stored event that has both keys keeps both as stored. Renames chain
    /// (a → b, b → c reads a as c); a cycle fails when the options are first used.
    /// </summary>
    /// <param name="oldKey">The key as stored by earlier releases.</param>
    /// <param name="newKey">The key the application reads now.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException">A key is null or empty, or the two are equal.</exception>
    public EventSourcingDbContextOptionsBuilder RenameMetadataKey(string oldKey, string newKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(oldKey);
        ArgumentException.ThrowIfNullOrEmpty(newKey);
        if (string.Equals(oldKey, newKey, StringComparison.Ordinal))
        {
            throw new ArgumentException(Diagnostics.Internal.Messages.MetadataRenameCycle(oldKey), nameof(newKey));
        }

        return WithUpcasting(s => s with { MetadataKeyRenames = s.MetadataKeyRenames.Add((oldKey, newKey)) });
    }

    private EventSourcingDbContextOptionsBuilder WithUpcasting(Func<UpcastingSettings, UpcastingSettings> change)
        => WithOption(e => e.WithUpcasting(change));
}
