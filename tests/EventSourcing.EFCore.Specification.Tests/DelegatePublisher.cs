namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>A publisher that runs the given function for each message.</summary>
public sealed class DelegatePublisher(Func<OutboxMessage, CancellationToken, Task> publish) : IOutboxPublisher
{
    public Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken) => publish(message, cancellationToken);
}
