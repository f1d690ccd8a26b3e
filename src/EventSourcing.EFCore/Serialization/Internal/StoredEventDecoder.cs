using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Streams.Internal;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// Turns a stored event's type name, payload and metadata back into objects, or raises
/// <see cref="EventDeserializationException"/> naming the stream, version, global position and stored type name.
/// </summary>
internal static class StoredEventDecoder
{
    /// <summary>Turns a stored event row into a <see cref="RecordedEvent"/>.</summary>
    /// <exception cref="EventStoreCorruptionException">The row's stream id is invalid, or it is not of <paramref name="expectedStream"/>.</exception>
    /// <exception cref="EventDeserializationException">The type name is unknown, or the payload or metadata does not deserialize.</exception>
    public static RecordedEvent Event(EventTypeRegistry registry, EventSerializer serializer, EventRow row, StreamId? expectedStream = null)
    {
        var e = row.Event;
        StreamId streamId;
        try
        {
            streamId = new StreamId(e.StreamType, e.StreamId);
        }
        catch (ArgumentException ex)
        {
            throw new EventStoreCorruptionException(default, e.GlobalPosition, Messages.UnreadableEnvelope(e.GlobalPosition, ex.Message), ex);
        }

        if (expectedStream is { } expected && expected != streamId)
        {
            throw new EventStoreCorruptionException(expected, e.GlobalPosition, Messages.WrongStream(expected, streamId, e.GlobalPosition));
        }

        var data = Data(registry, serializer, streamId, e.Sequence, e.GlobalPosition, e.EventType, e.Payload);
        var metadata = Metadata(streamId, e.Sequence, e.GlobalPosition, e.EventType, e.Metadata);
        return new RecordedEvent(
            streamId, e.Sequence, e.GlobalPosition, row.Checkpoint, e.EventId, e.EventType, e.EventVersion, data, metadata, e.CreatedAt.ToUniversalTime());
    }

    /// <summary>Deserializes the payload of a stored event.</summary>
    /// <exception cref="EventDeserializationException">The type name is unknown or the payload does not deserialize.</exception>
    public static object Data(
        EventTypeRegistry registry, EventSerializer serializer, StreamId streamId, long version, long globalPosition, string eventType, string payload)
    {
        EventTypeMapping mapping;
        try
        {
            mapping = registry.GetByName(eventType);
        }
        catch (UnknownEventTypeException ex)
        {
            throw new EventDeserializationException(
                streamId, version, globalPosition, eventType, Messages.UnreadableEvent(streamId, version, globalPosition, eventType, ex.Message), ex);
        }

        try
        {
            return serializer.Deserialize(payload, mapping.ClrType);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not a result built from a caught failure: every serializer and converter failure (JsonException,
            // NotSupportedException, a constructor's own exception …) is raised again as the one typed exception.
            throw new EventDeserializationException(
                streamId, version, globalPosition, eventType, Messages.UnreadableEvent(streamId, version, globalPosition, eventType, ex.Message), ex);
        }
    }

    /// <summary>Deserializes the metadata of a stored event.</summary>
    /// <exception cref="EventDeserializationException">The metadata is not a flat JSON object of strings.</exception>
    public static IReadOnlyDictionary<string, string> Metadata(StreamId streamId, long version, long globalPosition, string eventType, string? metadata)
    {
        try
        {
            return EventSerializer.DeserializeMetadata(metadata);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new EventDeserializationException(
                streamId, version, globalPosition, eventType, Messages.UnreadableMetadata(streamId, version, globalPosition, eventType, ex.Message), ex);
        }
    }
}
