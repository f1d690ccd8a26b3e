namespace EventSourcing.EFCore;

/// <summary>A dead letter: an outbox message whose publish attempts are exhausted, from <c>db.Outbox().GetDeadLettersAsync</c>.</summary>
/// <param name="Id">The outbox row id; pages are ordered by it (pass the last one as <c>afterId</c> for the next page).</param>
/// <param name="MessageId">The message id (the event id).</param>
/// <param name="Destination">The destination the message was routed to.</param>
/// <param name="EventType">The stable event type name.</param>
/// <param name="StreamId">The event's stream.</param>
/// <param name="StreamVersion">The event's version in its stream.</param>
/// <param name="Payload">The event as JSON.</param>
/// <param name="Headers">The stored headers (the global position is added only when a message is dispatched).</param>
/// <param name="Attempts">The number of attempts made.</param>
/// <param name="CreatedAt">When the message was written.</param>
/// <param name="DeadLetteredAt">When the message became a dead letter (database time).</param>
/// <param name="LastError">The last error: exception type and message, or why the last attempt's lease expired.</param>
public sealed record OutboxDeadLetter(
    long Id,
    Guid MessageId,
    string Destination,
    string EventType,
    StreamId StreamId,
    long StreamVersion,
    string Payload,
    IReadOnlyDictionary<string, string> Headers,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset DeadLetteredAt,
    string? LastError);
