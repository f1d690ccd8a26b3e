using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using System.Text.Json;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// Turns event objects and metadata into the JSON the events table stores, and back, with System.Text.Json.
/// </summary>
internal sealed class EventSerializer
{
    private static readonly JsonSerializerOptions MetadataOptions = new();

    private readonly ConcurrentDictionary<Type, JsonTypeInfo> _typeInfos = new();

    public EventSerializer(JsonSerializerOptions options) => Options = ReadingAnyKeyOrder(options);

    public JsonSerializerOptions Options { get; }

    /// <summary>Serializes an event through the <see cref="JsonTypeInfo"/> of <paramref name="type"/> (see <see cref="TypeInfo"/>).</summary>
    public string Serialize(object data, Type type) => JsonSerializer.Serialize(data, TypeInfo(type));

    /// <summary>Deserializes a stored payload through the <see cref="JsonTypeInfo"/> of <paramref name="type"/> (see <see cref="TypeInfo"/>).</summary>
    public object Deserialize(string payload, Type type)
        => JsonSerializer.Deserialize(payload, TypeInfo(type))
           ?? throw new JsonException("The payload is the JSON literal null.");

    /// <summary>Deserializes a stored payload from its UTF-8 bytes (no text in between).</summary>
    public object Deserialize(ReadOnlySpan<byte> utf8Payload, Type type)
        => JsonSerializer.Deserialize(utf8Payload, TypeInfo(type))
           ?? throw new JsonException("The payload is the JSON literal null.");

    /// <summary>
    /// Returns the contract of <paramref name="type"/> in <see cref="Options"/>, resolved once per type and kept (the
    /// serializer is shared by every context of one configuration), so reading an event skips the options' own lookup.
    /// </summary>
    /// <exception cref="NotSupportedException">The options' resolver does not know <paramref name="type"/>.</exception>
    public JsonTypeInfo TypeInfo(Type type)
        => _typeInfos.TryGetValue(type, out var info) ? info : _typeInfos.GetOrAdd(type, Options.GetTypeInfo);

    /// <summary>
    /// Returns a copy of <paramref name="options"/> with <see cref="JsonSerializerOptions.AllowOutOfOrderMetadataProperties"/>
    /// on (PostgreSQL's <c>jsonb</c> stores object keys in its own order, so a polymorphic member's <c>$type</c> is not
    /// always first when the JSON is read back) and, after the user's own converters, <see cref="StorableStringConverter"/>.
    /// </summary>
    public static JsonSerializerOptions ReadingAnyKeyOrder(JsonSerializerOptions options)
    {
        var copy = new JsonSerializerOptions(options) { AllowOutOfOrderMetadataProperties = true };
        copy.Converters.Add(new StorableStringConverter());
        return copy;
    }

    public static int Utf8Length(string json) => Encoding.UTF8.GetByteCount(json);

    public static string? SerializeMetadata(IReadOnlyDictionary<string, string>? metadata)
        => metadata is null || metadata.Count == 0 ? null : JsonSerializer.Serialize(metadata, MetadataOptions);

    /// <summary>Reads a flat JSON object of strings; throws <see cref="JsonException"/> for anything else.</summary>
    public static IReadOnlyDictionary<string, string> DeserializeMetadata(string? json)
    {
        if (json is null)
        {
            return EmptyMetadata;
        }

        return JsonSerializer.Deserialize<Dictionary<string, string>>(json, MetadataOptions)
               ?? throw new JsonException("Metadata is the JSON literal null.");
    }

    public static IReadOnlyDictionary<string, string> EmptyMetadata { get; } = new Dictionary<string, string>(0);
}
