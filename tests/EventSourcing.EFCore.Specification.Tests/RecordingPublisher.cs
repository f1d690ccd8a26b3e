using System.Collections.Concurrent;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// An outbox publisher for tests: records every message it accepts, in order, and fails the calls that
/// <see cref="Fail"/> selects (before recording, as a broker that rejected the message).
/// </summary>
public sealed class RecordingPublisher : IOutboxPublisher
{
    private readonly ConcurrentQueue<OutboxMessage> _published = new();
    private int _calls;

    /// <summary>Gets or sets which calls fail: given the message, returns the exception to throw, or null to accept it.</summary>
    public Func<OutboxMessage, Exception?>? Fail { get; set; }

    /// <summary>Gets or sets an action run after a message is recorded (for example to cancel or to throw after recording).</summary>
    public Action<OutboxMessage>? AfterRecord { get; set; }

    public IReadOnlyList<OutboxMessage> Published => [.. _published];

    public int Calls => Volatile.Read(ref _calls);

    public Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        cancellationToken.ThrowIfCancellationRequested();
        if (Fail?.Invoke(message) is { } failure)
        {
            throw failure;
        }

        _published.Enqueue(message);
        AfterRecord?.Invoke(message);
        return Task.CompletedTask;
    }
}

/// <summary>A clock the tests move by hand (retry backoff, retention, projection lag).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    /// <summary>Starts at the current time truncated to whole seconds (so database precision does not show).</summary>
    public ManualClock()
        : this(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()))
    {
    }

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

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
