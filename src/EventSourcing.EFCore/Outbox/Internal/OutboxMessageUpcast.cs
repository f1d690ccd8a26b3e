using System.Globalization;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Serialization.Internal;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// Builds the message of a claimed outbox row with the event as the current release reads it: a row staged by an
/// earlier release (stored version in its <see cref="OutboxHeaders.EventTypeVersion"/> header) goes through the
/// upcasters, its headers then carry the current name and version (and <see cref="OutboxHeaders.StoredEventTypeVersion"/>),
/// and renamed metadata keys are read under their new names.
/// </summary>
internal sealed class OutboxMessageUpcast(EventUpcasting upcasting, EventSerializer serializer)
{
    /// <exception cref="EventDeserializationException">The row's headers, type name, version or payload cannot be read.</exception>
    /// <exception cref="EventUpcastException">An upcaster failed.</exception>
    public OutboxMessage Message(OutboxCandidate candidate, int attempt)
    {
        try
        {
            return Read(candidate, attempt);
        }
        catch (Exception ex) when (ex is not (EventUpcastException or OperationCanceledException))
        {
            // Not a result built from a caught failure: every serializer failure (JsonException, NotSupportedException,
            // an unknown type name …) is raised again as the one typed exception, which the attempt then records.
            var position = candidate.GlobalPosition ?? 0;
            throw new EventDeserializationException(
                candidate.StreamId, candidate.StreamVersion, position, candidate.EventType,
                Messages.UnreadableEvent(candidate.StreamId, candidate.StreamVersion, position, candidate.EventType, ex.Message), ex);
        }
    }

    private OutboxMessage Read(OutboxCandidate candidate, int attempt)
    {
        var headers = OutboxStaging.ReadHeaders(candidate.Headers, candidate.GlobalPosition);
        var eventType = candidate.EventType;
        var payload = candidate.Payload;
        if (!upcasting.IsEmpty
            && headers.TryGetValue(OutboxHeaders.EventTypeVersion, out var text)
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var stored))
        {
            (eventType, var received, payload) = upcasting.UpcastJson(candidate.StreamId, candidate.StreamVersion, eventType, stored, payload, serializer);
            var renamed = upcasting.RenameMetadataKeys(headers);
            if (received != stored || eventType != candidate.EventType || !ReferenceEquals(renamed, headers))
            {
                var changed = new Dictionary<string, string>(renamed, StringComparer.Ordinal)
                {
                    [OutboxHeaders.EventType] = eventType,
                    [OutboxHeaders.EventTypeVersion] = received.ToString(CultureInfo.InvariantCulture),
                };
                if (received != stored)
                {
                    changed[OutboxHeaders.StoredEventTypeVersion] = stored.ToString(CultureInfo.InvariantCulture);
                }

                headers = changed;
            }
        }

        return new OutboxMessage
        {
            MessageId = candidate.EventId,
            Destination = candidate.Destination,
            EventType = eventType,
            Payload = payload,
            Headers = headers,
            StreamId = candidate.StreamId,
            Attempt = attempt,
        };
    }
}
