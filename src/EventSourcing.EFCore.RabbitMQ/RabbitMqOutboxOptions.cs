namespace EventSourcing.EFCore.RabbitMQ;

/// <summary>
/// Configures <see cref="RabbitMqOutboxPublisher"/>: the broker, and where each outbox destination goes (an exchange and
/// a routing key). A message whose destination is not mapped fails its attempt (it is retried, then dead-lettered).
/// </summary>
public sealed class RabbitMqOutboxOptions
{
    private readonly Dictionary<string, RabbitMqRoute> _routes = new(StringComparer.Ordinal);

    /// <summary>Gets or sets the broker's AMQP URI, for example <c>amqp://user:password@host:5672/vhost</c>. Required.</summary>
    public Uri? ConnectionUri { get; set; }

    /// <summary>Gets or sets the connection name shown by the broker (default <c>EventSourcing.EFCore outbox</c>).</summary>
    public string ClientProvidedName { get; set; } = "EventSourcing.EFCore outbox";

    /// <summary>Gets or sets how long the client waits between attempts to recover a lost connection (default 2 seconds).</summary>
    public TimeSpan NetworkRecoveryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets or sets a value indicating whether messages are published persistent (delivery mode 2; default true).</summary>
    public bool Persistent { get; set; } = true;

    internal IReadOnlyDictionary<string, RabbitMqRoute> Routes => _routes;

    /// <summary>Sends the messages of <paramref name="destination"/> to <paramref name="exchange"/> with a fixed routing key.</summary>
    /// <param name="destination">The outbox destination (as given to <c>Publish</c> / <c>PublishAll</c>).</param>
    /// <param name="exchange">The exchange; empty for the default exchange (then the routing key is a queue name).</param>
    /// <param name="routingKey">The routing key.</param>
    /// <returns>The same options, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is null, empty or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="exchange"/> or <paramref name="routingKey"/> is null.</exception>
    public RabbitMqOutboxOptions Map(string destination, string exchange, string routingKey)
    {
        ArgumentNullException.ThrowIfNull(routingKey);
        return Map(destination, exchange, _ => routingKey);
    }

    /// <summary>Sends the messages of <paramref name="destination"/> to <paramref name="exchange"/> with a routing key chosen per message.</summary>
    /// <param name="destination">The outbox destination (as given to <c>Publish</c> / <c>PublishAll</c>).</param>
    /// <param name="exchange">The exchange; empty for the default exchange (then the routing key is a queue name).</param>
    /// <param name="routingKey">Chooses the routing key of a message, for example from its stream type.</param>
    /// <returns>The same options, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is null, empty or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="exchange"/> or <paramref name="routingKey"/> is null.</exception>
    public RabbitMqOutboxOptions Map(string destination, string exchange, Func<OutboxMessage, string> routingKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(destination);
        ArgumentNullException.ThrowIfNull(exchange);
        ArgumentNullException.ThrowIfNull(routingKey);
        _routes[destination] = new RabbitMqRoute(exchange, routingKey);
        return this;
    }
}

/// <summary>Where one destination's messages go.</summary>
internal sealed record RabbitMqRoute(string Exchange, Func<OutboxMessage, string> RoutingKey);
