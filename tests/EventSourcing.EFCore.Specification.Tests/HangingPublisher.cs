using System.Collections.Concurrent;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// An outbox publisher that never completes on its own: it either waits for its token (and counts the cancellation)
/// or ignores it entirely, as a stuck broker client would.
/// </summary>
public sealed class HangingPublisher(bool honoursCancellation) : IOutboxPublisher
{
    private readonly ConcurrentQueue<(Guid, int)> _attempts = new();
    private int _cancelled;

    /// <summary>Gets every call as (message id, attempt), in call order.</summary>
    public IReadOnlyList<(Guid MessageId, int Attempt)> Attempts => [.. _attempts];

    /// <summary>Gets how many calls saw their token cancelled.</summary>
    public int CancelledTokens => Volatile.Read(ref _cancelled);

    public async Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        _attempts.Enqueue((message.MessageId, message.Attempt));
        cancellationToken.Register(() => Interlocked.Increment(ref _cancelled));
        if (honoursCancellation)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        else
        {
            await new TaskCompletionSource().Task; // never completes, whatever the token says
        }
    }
}
