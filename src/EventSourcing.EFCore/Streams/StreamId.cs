using EventSourcing.EFCore.Aggregates.Internal;
using EventSourcing.EFCore.Diagnostics.Internal;
namespace EventSourcing.EFCore;

/// <summary>
/// Identifies one event stream: a stream type (for aggregates, the aggregate type name) and an id within that type.
/// </summary>
/// <remarks>
/// Both parts are stored as text and compared ordinally. <c>default(StreamId)</c> is not a valid stream and is
/// rejected by every event store API.
/// </remarks>
public readonly record struct StreamId
{
    /// <summary>The maximum length, in characters, of <see cref="Type"/> and of <see cref="Id"/>.</summary>
    public const int MaxLength = 256;

    /// <summary>
    /// Creates a stream identifier.
    /// </summary>
    /// <param name="type">The stream type, for example <c>"order"</c>. Not empty, at most <see cref="MaxLength"/> characters.</param>
    /// <param name="id">The id of the stream within its type. Not empty, at most <see cref="MaxLength"/> characters.</param>
    /// <exception cref="ArgumentNullException"><paramref name="type"/> or <paramref name="id"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="type"/> or <paramref name="id"/> is empty, white space, too long or holds control characters.</exception>
    public StreamId(string type, string id)
    {
        Validate(type, nameof(type));
        Validate(id, nameof(id));
        Type = type;
        Id = id;
    }

    /// <summary>Creates the stream id of the <typeparamref name="TAggregate"/> aggregate with id <paramref name="id"/>.</summary>
    /// <typeparam name="TAggregate">The aggregate type; its stream type is <see cref="AggregateTypeAttribute"/>'s name or the class name.</typeparam>
    /// <param name="id">The aggregate id, formatted with the invariant culture.</param>
    /// <returns>The stream id.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="id"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The aggregate type has no usable stream type name.</exception>
    public static StreamId For<TAggregate>(object id)
        where TAggregate : IEventSourcedAggregate
    {
        ArgumentNullException.ThrowIfNull(id);
        return new StreamId(AggregateTypeName.Of(typeof(TAggregate)), AggregateTypeName.FormatId(id));
    }

    /// <summary>Gets the stream type, for example <c>"order"</c>.</summary>
    public string Type { get; }

    /// <summary>Gets the id of the stream within its type.</summary>
    public string Id { get; }

    /// <summary>Gets a value indicating whether this is <c>default(StreamId)</c>, which identifies no stream.</summary>
    public bool IsDefault => Type is null;

    /// <summary>Returns <c>"type/id"</c>.</summary>
    /// <returns>The stream type and id separated by a slash.</returns>
    public override string ToString() => IsDefault ? "(default StreamId)" : $"{Type}/{Id}";

    internal static void Validate(string value, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        ArgumentException.ThrowIfNullOrWhiteSpace(value, paramName);
        if (value.Length > MaxLength)
        {
            throw new ArgumentException(Messages.ValueTooLong(paramName, value.Length, MaxLength), paramName);
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsControl(c))
            {
                throw new ArgumentException(Messages.ControlCharacter(paramName), paramName);
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                throw new ArgumentException(Messages.LoneSurrogate(paramName), paramName);
            }
        }
    }

    internal static void ThrowIfDefault(StreamId streamId, string paramName)
    {
        if (streamId.IsDefault)
        {
            throw new ArgumentException(Messages.DefaultStreamId, paramName);
        }
    }
}
