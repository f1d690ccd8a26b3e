using System.Text.Json;
using System.Text.Json.Nodes;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// The upcasters that take one stored version of an event type name to its current type, in order. JSON steps work on
/// one <see cref="JsonNode"/> parsed once; typed steps on objects; the payload is deserialized (or serialized back to a
/// node) only where consecutive steps differ in kind, and the result is the current type's object.
/// </summary>
internal sealed class UpcasterChain(EventTypeMapping current, Upcaster[] steps, JsonSerializerOptions options)
{
    private readonly JsonNodeOptions _nodeOptions = new() { PropertyNameCaseInsensitive = options.PropertyNameCaseInsensitive };

    public EventTypeMapping Current { get; } = current;

    public IReadOnlyList<Upcaster> Steps => steps;

    /// <summary>Runs the chain on a stored payload; a JSON error of the payload is a <see cref="JsonException"/>, an upcaster's failure an <see cref="EventUpcastException"/>.</summary>
    public object Run(string json, StreamId streamId, long streamVersion)
    {
        object? value = null;
        JsonNode? node = null;
        foreach (var step in steps)
        {
            if (step.Json is { } onJson)
            {
                node ??= value is null
                    ? JsonNode.Parse(json, _nodeOptions) ?? throw new JsonException("The payload is the JSON literal null.")
                    : JsonSerializer.SerializeToNode(value, value.GetType(), options)!;
                value = null;
                node = Invoke(step, onJson, node, streamId, streamVersion);
            }
            else
            {
                value ??= (node is null ? JsonSerializer.Deserialize(json, step.FromType!, options) : node.Deserialize(step.FromType!, options))
                          ?? throw new JsonException("The payload is the JSON literal null.");
                node = null;
                value = Invoke(step, step.Typed!, value, streamId, streamVersion);
            }
        }

        return value ?? node!.Deserialize(Current.ClrType, options) ?? throw new JsonException("The upcast payload is the JSON literal null.");
    }

    private static T Invoke<T>(Upcaster step, Func<T, T> upcast, T input, StreamId streamId, long streamVersion)
        where T : class
    {
        T? output;
        try
        {
            output = upcast(input);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The user's upcaster failed: say on which event and which step, keep its exception.
            throw new EventUpcastException(
                streamId, streamVersion, step.Name!, step.FromVersion, step.ToVersion,
                Messages.UpcasterFailed(step.Name!, step.FromVersion, step.ToVersion, streamId, streamVersion, ex.Message), ex);
        }

        return output ?? throw new EventUpcastException(
            streamId, streamVersion, step.Name!, step.FromVersion, step.ToVersion,
            Messages.UpcasterFailed(step.Name!, step.FromVersion, step.ToVersion, streamId, streamVersion, Messages.UpcasterReturnedNull(step.Name!, step.FromVersion, step.ToVersion)));
    }
}
