using System.Text.Json;
using System.Text.Json.Serialization;
using EventSourcing.EFCore.Streams.Internal;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// Writes strings as System.Text.Json does, but refuses one holding a lone UTF-16 surrogate: System.Text.Json would
/// silently write U+FFFD in its place, so the event would not read back as written. The refusal is a
/// <see cref="JsonException"/>, which appending reports as an <see cref="EventValidationException"/> naming the data.
/// </summary>
internal sealed class StorableStringConverter : JsonConverter<string>
{
    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString();

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        if (EventPreparer.HasLoneSurrogate(value))
        {
            throw new JsonException("a string of the event contains a lone UTF-16 surrogate (half of a character), which cannot be stored as written");
        }

        writer.WriteStringValue(value);
    }
}
