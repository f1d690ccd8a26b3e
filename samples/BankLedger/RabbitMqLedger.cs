using EventSourcing.EFCore.RabbitMQ;
using RabbitMQ.Client;

/// <summary>The demo's RabbitMQ side: a topic exchange and a durable queue for the ledger's outbox messages.</summary>
internal static class RabbitMqLedger
{
    public const string Exchange = "bank-ledger";
    public const string Queue = "bank-ledger-audit";

    /// <summary>Declares the exchange and queue, and returns a publisher mapping destination "ledger" to the exchange (routing key: stream type).</summary>
    public static async Task<RabbitMqOutboxPublisher> CreatePublisherAsync(Uri uri)
    {
        await using (var connection = await new ConnectionFactory { Uri = uri }.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
        {
            await channel.ExchangeDeclareAsync(Exchange, ExchangeType.Topic, durable: true);
            await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false);
            await channel.QueueBindAsync(Queue, Exchange, "#");
        }

        return new RabbitMqOutboxPublisher(new RabbitMqOutboxOptions { ConnectionUri = uri }.Map("ledger", Exchange, m => m.StreamId.Type));
    }

    /// <summary>Returns how many messages wait in the demo's queue.</summary>
    public static async Task<uint> QueuedAsync(Uri uri)
    {
        await using var connection = await new ConnectionFactory { Uri = uri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        return await channel.MessageCountAsync(Queue);
    }
}
