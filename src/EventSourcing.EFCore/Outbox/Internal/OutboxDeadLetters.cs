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

    public static OutboxDeadLetter ToDeadLetter(StoredOutboxMessage row)
        => new(
            row.Id,
            row.EventId,
            row.Destination,
            row.EventType,
            new StreamId(row.StreamType, row.StreamId),
            row.StreamVersion,
            row.Payload,
            OutboxStaging.ReadHeaders(row.Headers, globalPosition: null),
            row.Attempts,
            row.CreatedAt,
            row.DeadLetteredAt!.Value,
            row.LastError);
}
