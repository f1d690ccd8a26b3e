namespace EventSourcing.EFCore.RabbitMQ;

/// <summary>
/// The broker returned an outbox message published with the mandatory flag: no queue is bound to its exchange for its
/// routing key. The attempt fails (the message is retried, then dead-lettered), so nothing is dropped silently.
/// </summary>
public sealed class RabbitMqUnroutableMessageException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="RabbitMqUnroutableMessageException"/> class.</summary>
    /// <param name="messageId">The message id.</param>
    /// <param name="exchange">The exchange it was published to.</param>
    /// <param name="routingKey">Its routing key.</param>
    /// <param name="inner">The client's exception.</param>
    public RabbitMqUnroutableMessageException(Guid messageId, string exchange, string routingKey, Exception? inner = null)
        : base($"RabbitMQ returned outbox message {messageId} as unroutable: no queue is bound to exchange '{exchange}' for routing key '{routingKey}'. "
               + "Bind a queue, or map the destination elsewhere (RabbitMqOutboxOptions.Map).", inner)
    {
        MessageId = messageId;
        Exchange = exchange;
        RoutingKey = routingKey;
    }

    /// <summary>Gets the message id.</summary>
    public Guid MessageId { get; }

    /// <summary>Gets the exchange the message was published to.</summary>
    public string Exchange { get; }

    /// <summary>Gets the routing key of the message.</summary>
    public string RoutingKey { get; }
}
