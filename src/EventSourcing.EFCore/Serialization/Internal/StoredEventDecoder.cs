using System.Text;
using System.Text.Json;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Streams.Internal;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// Turns a stored event's type name, version, payload and metadata back into objects of the current release (through
/// the upcasters and aliases), or raises <see cref="EventDeserializationException"/> naming the stream, version, global
/// position and stored type name (an upcaster's own failure is an <see cref="EventUpcastException"/>).
/// </summary>
internal static class StoredEventDecoder
{
    /// <summary>Turns a stored event row into a <see cref="RecordedEvent"/>.</summary>
    /// <exception cref="EventStoreCorruptionException">The row's stream id is invalid, or it is not of <paramref name="expectedStream"/>.</exception>
    /// <exception cref="EventDeserializationException">The type name or version is unknown, or the payload or metadata does not deserialize.</exception>
    public static RecordedEvent Event(EventSourcingOptionsExtension options, EventRow row, StreamId? expectedStream = null)
    {
        var e = row.Event;
        var streamId = StreamOf(e.StreamType, e.StreamId, e.GlobalPosition);
        if (expectedStream is { } expected && expected != streamId)
        {
            throw new EventStoreCorruptionException(expected, e.GlobalPosition, Messages.WrongStream(expected, streamId, e.GlobalPosition));
        }

        var (payload, data) = Data(options, streamId, e.Sequence, e.GlobalPosition, e.EventType, e.EventVersion, e.Payload);
        var metadata = Metadata(options, streamId, e.Sequence, e.GlobalPosition, e.EventType, e.Metadata);
        return new RecordedEvent(
            streamId, e.Sequence, e.GlobalPosition, row.Checkpoint, e.EventId, payload.EventType, e.EventVersion, data, metadata, e.CreatedAt.ToUniversalTime(),
            e.EventType, payload.ReceivedVersion);
    }

    /// <summary>
    /// Turns a read-all row into a <see cref="RecordedEvent"/>: the same envelope as from a stored event row, built from
    /// the columns as read (a UTF-8 payload, <paramref name="utf8Payload"/> when the row's text payload is null, is
    /// deserialized without a string).
    /// </summary>
    /// <exception cref="EventStoreCorruptionException">The row's stream id is invalid.</exception>
    /// <exception cref="EventDeserializationException">The type name or version is unknown, or the payload or metadata does not deserialize.</exception>
    public static RecordedEvent Event(EventSourcingOptionsExtension options, in ReadAllRow row, ReadOnlySpan<byte> utf8Payload)
    {
        var streamId = StreamOf(row.StreamType, row.StreamId, row.GlobalPosition);
        var (payload, data) = row.Payload is { } json
            ? Data(options, streamId, row.Sequence, row.GlobalPosition, row.EventType, row.EventVersion, json)
            : Data(options, streamId, row.Sequence, row.GlobalPosition, row.EventType, row.EventVersion, utf8Payload);
        var metadata = Metadata(options, streamId, row.Sequence, row.GlobalPosition, row.EventType, row.Metadata);
        return new RecordedEvent(
            streamId, row.Sequence, row.GlobalPosition, row.Checkpoint, row.EventId, payload.EventType, row.EventVersion, data, metadata,
            row.CreatedAt.ToUniversalTime(), row.EventType, payload.ReceivedVersion);
    }

    /// <summary>Reads the payload of a stored event as the current release's type (upcast where needed).</summary>
    /// <exception cref="EventDeserializationException">The type name or version is unknown or the payload does not deserialize.</exception>
    /// <exception cref="EventUpcastException">An upcaster failed.</exception>
    public static (UpcastPayload Payload, object Data) Data(
        EventSourcingOptionsExtension options, StreamId streamId, long version, long globalPosition, string eventType, int eventVersion, string json)
    {
        UpcastPayload payload;
        try
        {
            payload = options.Upcasting.Upcast(streamId, version, eventType, eventVersion, json);
        }
        catch (Exception ex) when (ex is UnknownEventTypeException or JsonException)
        {
            throw new EventDeserializationException(
                streamId, version, globalPosition, eventType, Messages.UnreadableEvent(streamId, version, globalPosition, eventType, ex.Message), ex);
        }

        if (payload.Data is { } upcast)
        {
            return (payload, upcast);
        }

        try
        {
            return (payload, options.Serializer.Deserialize(payload.Json!, payload.ClrType));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not a result built from a caught failure: every serializer and converter failure (JsonException,
            // NotSupportedException, a constructor's own exception …) is raised again as the one typed exception.
            throw new EventDeserializationException(
                streamId, version, globalPosition, eventType, Messages.UnreadableEvent(streamId, version, globalPosition, eventType, ex.Message), ex);
        }
    }

    private static StreamId StreamOf(string streamType, string streamId, long globalPosition)
    {
        try
        {
            return new StreamId(streamType, streamId);
        }
        catch (ArgumentException ex)
        {
            throw new EventStoreCorruptionException(default, globalPosition, Messages.UnreadableEnvelope(globalPosition, ex.Message), ex);
        }
    }

    /// <summary>
    /// Reads the payload of a stored event given as UTF-8 bytes: deserialized from the bytes when its type is current,
    /// else as text through <see cref="Data(EventSourcingOptionsExtension, StreamId, long, long, string, int, string)"/>
    /// (aliases, upcasters, obsolete names).
    /// </summary>
    /// <exception cref="EventDeserializationException">The type name or version is unknown or the payload does not deserialize.</exception>
    /// <exception cref="EventUpcastException">An upcaster failed.</exception>
    public static (UpcastPayload Payload, object Data) Data(
        EventSourcingOptionsExtension options, StreamId streamId, long version, long globalPosition, string eventType, int eventVersion, ReadOnlySpan<byte> utf8Json)
    {
        if (!options.Upcasting.IsCurrent(eventType, eventVersion, out var clrType))
        {
            return Data(options, streamId, version, globalPosition, eventType, eventVersion, Encoding.UTF8.GetString(utf8Json));
        }

        var data = Data(options, streamId, version, globalPosition, eventType, clrType, utf8Json);
        return (new UpcastPayload(eventType, clrType, eventVersion, null, data), data);
    }

    /// <summary>
    /// Reads the payload of a stored event of a current type (as <see cref="CurrentEventTypes"/> found it) from its
    /// UTF-8 bytes: no registry lookup, no upcasting (none applies to a current type).
    /// </summary>
    /// <exception cref="EventDeserializationException">The payload does not deserialize.</exception>
    public static object Data(
        EventSourcingOptionsExtension options, StreamId streamId, long version, long globalPosition, string eventType, Type clrType, ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            return options.Serializer.Deserialize(utf8Json, clrType);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // As above: every serializer and converter failure is raised again as the one typed exception.
            throw new EventDeserializationException(
                streamId, version, globalPosition, eventType, Messages.UnreadableEvent(streamId, version, globalPosition, eventType, ex.Message), ex);
        }
    }

    /// <summary>Deserializes the metadata of a stored event (renamed keys read under their new names).</summary>
    /// <exception cref="EventDeserializationException">The metadata is not a flat JSON object of strings.</exception>
    public static IReadOnlyDictionary<string, string> Metadata(
        EventSourcingOptionsExtension options, StreamId streamId, long version, long globalPosition, string eventType, string? metadata)
    {
        try
        {
            return options.Upcasting.ReadMetadata(metadata);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new EventDeserializationException(
                streamId, version, globalPosition, eventType, Messages.UnreadableMetadata(streamId, version, globalPosition, eventType, ex.Message), ex);
        }
    }
}
