using System.Text.Json.Nodes;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// One registered upcaster: on the JSON of a named event type from one version to a higher one, or typed from one
/// registered CLR type to another of the same name (whose names and versions are resolved when the chains are built).
/// </summary>
internal sealed class Upcaster
{
    private Upcaster(string? name, int fromVersion, int toVersion, Func<JsonNode, JsonNode>? json, Type? fromType, Type? toType, Func<object, object>? typed)
    {
        Name = name;
        FromVersion = fromVersion;
        ToVersion = toVersion;
        Json = json;
        FromType = fromType;
        ToType = toType;
        Typed = typed;
    }

    /// <summary>Gets the event type name (JSON upcasters; typed ones take it from their types).</summary>
    public string? Name { get; }

    public int FromVersion { get; }

    public int ToVersion { get; }

    public Func<JsonNode, JsonNode>? Json { get; }

    public Type? FromType { get; }

    public Type? ToType { get; }

    public Func<object, object>? Typed { get; }

    public static Upcaster OnJson(string name, int fromVersion, int toVersion, Func<JsonNode, JsonNode> upcast)
        => new(name, fromVersion, toVersion, upcast, null, null, null);

    public static Upcaster OnTypes(Type fromType, Type toType, Func<object, object> upcast)
        => new(null, 0, 0, null, fromType, toType, upcast);

    /// <summary>Returns this typed upcaster with the name and versions of its registered types.</summary>
    public Upcaster Resolved(string name, int fromVersion, int toVersion)
        => new(name, fromVersion, toVersion, Json, FromType, ToType, Typed);
}
