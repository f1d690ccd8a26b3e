using System.Collections.Concurrent;

namespace EventSourcing.EFCore.Testing;

/// <summary>
/// An <see cref="IOutboxPublisher"/> for tests: records every message it accepts, in the order accepted, and can fail
/// chosen calls (as a broker that rejects a message) to exercise retries and dead letters. Thread-safe; register it as
/// a singleton with <c>services.AddEventSourcingOutbox&lt;TContext, RecordingOutboxPublisher&gt;()</c> or pass it to
/// <c>db.Outbox().DispatchPendingAsync(publisher)</c>.
/// </summary>
public sealed class RecordingOutboxPublisher : IOutboxPublisher
{
    private readonly ConcurrentQueue<OutboxMessage> _published = new();
    private int _calls;

    /// <summary>Gets or sets which calls fail: given the message, returns the exception to throw (the message is then not recorded), or null to accept it.</summary>
    public Func<OutboxMessage, Exception?>? Fail { get; set; }

    /// <summary>Gets or sets an action run after a message is recorded (for example to cancel a dispatch, or to throw after the broker accepted).</summary>
    public Action<OutboxMessage>? AfterRecord { get; set; }

    /// <summary>Gets the messages accepted so far, in the order they were accepted (a snapshot).</summary>
    public IReadOnlyList<OutboxMessage> Published => [.. _published];

    /// <summary>Gets the number of <see cref="PublishAsync"/> calls, failed ones included.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Gets the accepted messages sent to <paramref name="destination"/>, in order.</summary>
    /// <param name="destination">The outbox route's destination.</param>
    /// <returns>The messages (a snapshot).</returns>
    public IReadOnlyList<OutboxMessage> PublishedTo(string destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return _published.Where(m => m.Destination == destination).ToArray();
    }

    /// <inheritdoc />
    public Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
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

    /// <summary>Forgets the recorded messages and the call count.</summary>
    public void Clear()
    {
        _published.Clear();
        Interlocked.Exchange(ref _calls, 0);
    }
}
