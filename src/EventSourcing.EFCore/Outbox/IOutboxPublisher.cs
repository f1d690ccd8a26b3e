namespace EventSourcing.EFCore;

/// <summary>
/// Hands outbox messages to a message broker (RabbitMQ, Kafka, Azure Service Bus …). Implement it for your broker and
/// pass it to <c>db.Outbox().DispatchPendingAsync</c>, or register it with <c>services.AddEventSourcingOutbox</c>.
/// </summary>
/// <remarks>
/// Return only once the broker has accepted the message; throw to have it retried (with backoff, up to the configured
/// number of attempts, then dead-lettered). Delivery is at least once: a message may be published again after a crash
/// between publishing and marking it, so consumers should deduplicate on <see cref="OutboxMessage.MessageId"/>.
/// In the default (per-stream ordered) mode one dispatcher calls the publisher sequentially; with
/// <c>DispatchUnordered</c> it is called concurrently and must be thread-safe.
/// </remarks>
public interface IOutboxPublisher
{
    /// <summary>Publishes <paramref name="message"/> to <see cref="OutboxMessage.Destination"/>.</summary>
    /// <param name="message">The message: id (the event id), destination, event type, JSON payload, headers, attempt number.</param>
    /// <param name="cancellationToken">A token cancelled when the dispatcher stops.</param>
    /// <returns>A task that completes when the broker has accepted the message.</returns>
    Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Gets the messaging system the publisher hands messages to, as the OpenTelemetry <c>messaging.system</c> tag of the
    /// publish span (<c>rabbitmq</c>, <c>kafka</c>, <c>servicebus</c> …); <c>eventsourcing.outbox</c> unless overridden.
    /// </summary>
    string MessagingSystem => "eventsourcing.outbox";
}
