using System.Text.Json;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Storage;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>The dead letters a <see cref="OutboxDeadLetterFilter"/> selects, as a query every backend can run.</summary>
internal static class OutboxDeadLetters
{
    public static IQueryable<StoredOutboxMessage> Select(IQueryable<StoredOutboxMessage> rows, OutboxDeadLetterFilter? filter)
    {
        var query = rows.Where(o => o.DeadLetteredAt != null);
        if (filter?.Destination is { } destination)
        {
            query = query.Where(o => o.Destination == destination);
        }

        if (filter?.ErrorContains is { } error)
        {
            query = query.Where(o => o.LastError != null && o.LastError.Contains(error));
        }

        if (filter?.MessageId is { } messageId)
        {
            query = query.Where(o => o.EventId == messageId);
        }

        return query;
    }

    /// <exception cref="EventDeserializationException">The row's headers are not a JSON object of strings (changed outside the library).</exception>
    public static OutboxDeadLetter ToDeadLetter(StoredOutboxMessage row)
    {
        var stream = new StreamId(row.StreamType, row.StreamId);
        IReadOnlyDictionary<string, string> headers;
        try
        {
            headers = OutboxStaging.ReadHeaders(row.Headers, globalPosition: null);
        }
        catch (JsonException ex)
        {
            throw new EventDeserializationException(
                stream, row.StreamVersion, 0, row.EventType, Messages.UnreadableOutboxHeaders(row.Id, stream, row.StreamVersion, row.EventType, ex.Message), ex);
        }

        return new(
            row.Id,
            row.EventId,
            row.Destination,
            row.EventType,
            stream,
            row.StreamVersion,
            row.Payload,
            headers,
            row.Attempts,
            row.CreatedAt,
            row.DeadLetteredAt!.Value,
            row.LastError);
    }
}
