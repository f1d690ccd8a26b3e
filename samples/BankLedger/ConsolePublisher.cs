using System.Collections.Concurrent;
using EventSourcing.EFCore;

namespace BankLedger;

/// <summary>
/// An outbox publisher that "sends" to the console: it prints the first few messages and counts them all; with
/// <paramref name="forwardTo"/> (the RabbitMQ publisher) it counts a message once that publisher has accepted it.
/// </summary>
public sealed class ConsolePublisher(IOutboxPublisher? forwardTo = null) : IOutboxPublisher
{
    private int _printed;

    public ConcurrentDictionary<Guid, int> Published { get; } = new();

    public async Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        if (forwardTo is not null)
        {
            await forwardTo.PublishAsync(message, cancellationToken);
        }

        Published.AddOrUpdate(message.MessageId, 1, (_, n) => n + 1);
        if (Interlocked.Increment(ref _printed) <= 3)
        {
            Console.WriteLine($"    -> {message.Destination}: {message.EventType} {message.Payload} "
                + $"[stream {message.Headers["es-stream-id"]} v{message.Headers["es-version"]}, message id {message.MessageId}]");
        }
    }
}
