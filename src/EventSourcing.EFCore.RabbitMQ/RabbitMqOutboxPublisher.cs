using System.Diagnostics;
using System.Globalization;
using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace EventSourcing.EFCore.RabbitMQ;

/// <summary>
/// An <see cref="IOutboxPublisher"/> over RabbitMQ.Client 7: each message goes to the exchange and routing key its
/// destination is mapped to, with the mandatory flag and publisher confirms, and the call returns only once the broker
/// has confirmed it. A nack, a return (unroutable: <see cref="RabbitMqUnroutableMessageException"/>), a lost connection
/// or an unmapped destination fails the attempt, which the outbox retries with backoff. The message id, event type, event
/// timestamp and headers travel as AMQP properties (<c>message-id</c>, <c>type</c>, <c>timestamp</c>, headers, with
/// <c>traceparent</c> / <c>tracestate</c> when the event carried W3C trace context or an activity is current). One
/// connection with automatic recovery; one confirm channel, re-opened when the broker closed it. Thread-safe; register it
/// as a singleton (<c>services.AddEventSourcingRabbitMqOutbox</c> does) and dispose it at shutdown.
/// </summary>
public sealed class RabbitMqOutboxPublisher : IOutboxPublisher, IAsyncDisposable
{
    private readonly RabbitMqOutboxOptions _options;
    private readonly ConnectionFactory _factory;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;
    private IChannel? _channel;

    /// <summary>Initializes a new instance of the <see cref="RabbitMqOutboxPublisher"/> class. It connects on first use.</summary>
    /// <param name="options">The broker and the destination map.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="InvalidOperationException"><see cref="RabbitMqOutboxOptions.ConnectionUri"/> is not set.</exception>
    public RabbitMqOutboxPublisher(RabbitMqOutboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ConnectionUri is null)
        {
            throw new InvalidOperationException("RabbitMqOutboxOptions.ConnectionUri is not set: set it to the broker's AMQP URI (amqp://user:password@host:5672/vhost).");
        }

        _options = options;
        _factory = new ConnectionFactory
        {
            Uri = options.ConnectionUri,
            ClientProvidedName = options.ClientProvidedName,
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = options.NetworkRecoveryInterval,
        };
    }

    /// <summary>Gets <c>rabbitmq</c>, the OpenTelemetry <c>messaging.system</c> of the publish span.</summary>
    public string MessagingSystem => "rabbitmq";

    /// <inheritdoc />
    public async Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!_options.Routes.TryGetValue(message.Destination, out var route))
        {
            throw new InvalidOperationException(
                $"The outbox destination '{message.Destination}' has no RabbitMQ exchange: call RabbitMqOutboxOptions.Map(\"{message.Destination}\", exchange, routingKey).");
        }

        var routingKey = route.RoutingKey(message);
        var properties = Properties(message, _options.Persistent);
        var body = Encoding.UTF8.GetBytes(message.Payload);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var channel = await ChannelAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // With confirmation tracking, this completes once the broker has confirmed (or throws on nack / return).
                await channel.BasicPublishAsync(route.Exchange, routingKey, mandatory: true, properties, body, cancellationToken).ConfigureAwait(false);
            }
            catch (PublishException exception) when (exception.IsReturn)
            {
                throw new RabbitMqUnroutableMessageException(message.MessageId, route.Exchange, routingKey, exception);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Closes the channel and the connection.</summary>
    /// <returns>A task that completes when both are closed.</returns>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_channel is not null)
            {
                await _channel.DisposeAsync().ConfigureAwait(false);
                _channel = null;
            }

            if (_connection is not null)
            {
                await _connection.DisposeAsync().ConfigureAwait(false);
                _connection = null;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The AMQP properties of <paramref name="message"/>.</summary>
    internal static BasicProperties Properties(OutboxMessage message, bool persistent)
    {
        var headers = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in message.Headers)
        {
            headers[name] = value;
        }

        if (!headers.ContainsKey("traceparent") && Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity)
        {
            headers["traceparent"] = activity.Id;
            if (activity.TraceStateString is { Length: > 0 } state)
            {
                headers["tracestate"] = state;
            }
        }

        var properties = new BasicProperties
        {
            MessageId = message.MessageId.ToString(),
            Type = message.EventType,
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            DeliveryMode = persistent ? DeliveryModes.Persistent : DeliveryModes.Transient,
            Headers = headers,
        };
        if (message.Headers.TryGetValue(OutboxHeaders.Timestamp, out var timestamp)
            && DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at))
        {
            properties.Timestamp = new AmqpTimestamp(at.ToUnixTimeSeconds());
        }

        if (message.Headers.TryGetValue("correlation-id", out var correlation))
        {
            properties.CorrelationId = correlation;
        }

        return properties;
    }

    private async Task<IChannel> ChannelAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true })
        {
            return _channel;
        }

        if (_channel is not null)
        {
            // Closed by the broker (for example a publish to a missing exchange) or by a lost connection: start afresh.
            await _channel.DisposeAsync().ConfigureAwait(false);
            _channel = null;
        }

        // A connection that is down recovers by itself (automatic recovery): until then creating a channel throws, and the
        // attempt fails and is retried with backoff.
        _connection ??= await _factory.CreateConnectionAsync(_options.ClientProvidedName, cancellationToken).ConfigureAwait(false);
        _channel = await _connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken)
            .ConfigureAwait(false);
        return _channel;
    }
}
