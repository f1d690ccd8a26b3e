namespace EventSourcing.EFCore;

/// <summary>
/// Wraps an event object with the optional envelope values a caller may supply: the event id, metadata and
/// timestamp. Pass it wherever an event object is accepted.
/// </summary>
/// <example>
/// <code>
/// db.Events().Append(stream, ExpectedVersion.NoStream,
///     new EventData(new OrderPlaced(id, 10m)) { EventId = commandId, Metadata = new Dictionary&lt;string, string&gt; { ["correlation-id"] = cid } });
/// </code>
/// </example>
public sealed class EventData
{
    /// <summary>Wraps <paramref name="data"/>.</summary>
    /// <param name="data">The event object. Its type must be registered with the event store.</param>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is null.</exception>
    public EventData(object data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Data = data;
    }

    /// <summary>Gets the event object.</summary>
    public object Data { get; }

    /// <summary>
    /// Gets the event id. Unique store-wide; when <see langword="null"/>, a version 7 UUID is generated.
    /// Supplying a stable id (for example derived from a command id) makes a retried append recognisable.
    /// </summary>
    public Guid? EventId { get; init; }

    /// <summary>
    /// Gets string metadata stored with the event (correlation id, causation id, user …); keys and values must not be null.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>
    /// Gets the event's timestamp, which must be UTC (offset zero). When <see langword="null"/>, the time of the append is used.
    /// </summary>
    public DateTimeOffset? Timestamp { get; init; }
}
