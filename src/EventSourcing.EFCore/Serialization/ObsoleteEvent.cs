namespace EventSourcing.EFCore;

/// <summary>
/// The data of a stored event whose type was retired and declared obsolete (<c>es.DeclareObsolete("name")</c>): the
/// event is kept as stored, for tools. Reading a stream or all events returns it in its envelope
/// (<see cref="RecordedEvent.IsObsolete"/>); aggregates, projections and live folds skip it.
/// </summary>
public sealed class ObsoleteEvent
{
    /// <summary>Creates the data of an obsolete event. Used by the event store when it reads events.</summary>
    /// <param name="eventType">The stored type name.</param>
    /// <param name="version">The stored schema version.</param>
    /// <param name="json">The stored payload, unchanged.</param>
    /// <exception cref="ArgumentNullException"><paramref name="eventType"/> or <paramref name="json"/> is null.</exception>
    public ObsoleteEvent(string eventType, int version, string json)
    {
        ArgumentNullException.ThrowIfNull(eventType);
        ArgumentNullException.ThrowIfNull(json);
        EventType = eventType;
        Version = version;
        Json = json;
    }

    /// <summary>Gets the stored type name.</summary>
    public string EventType { get; }

    /// <summary>Gets the stored schema version.</summary>
    public int Version { get; }

    /// <summary>Gets the stored payload (JSON), unchanged.</summary>
    public string Json { get; }

    /// <summary>Returns <c>"obsolete name vN"</c>.</summary>
    /// <returns>A short description.</returns>
    public override string ToString() => $"obsolete {EventType} v{Version}";
}
