using System.Collections.Concurrent;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>An outbox publisher that accepts everything and counts deliveries per message id (duplicates stay visible).</summary>
public sealed class RecordingBus : IOutboxPublisher
{
    private readonly ConcurrentDictionary<Guid, int> _deliveries = new();

    public IReadOnlyDictionary<Guid, int> Deliveries => _deliveries;

    public bool Has(Guid messageId) => _deliveries.ContainsKey(messageId);

    public Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        _deliveries.AddOrUpdate(message.MessageId, 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }
}
