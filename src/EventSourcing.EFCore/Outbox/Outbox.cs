using Microsoft.Extensions.Logging;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.OutboxInternal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore;

/// <summary>
/// The transactional outbox of one DbContext, obtained with <c>db.Outbox()</c>: dispatch committed messages to an
/// <see cref="IOutboxPublisher"/>, requeue dead letters, read stats, delete old dispatched messages. The hosted
/// dispatcher (<c>services.AddEventSourcingOutbox</c>) calls the same methods; tools and tests call them directly.
/// </summary>
/// <remarks>
/// These methods commit their own work, so they need a context without an open transaction, unsaved changes or staged
/// events (a fresh context is simplest). Several dispatchers, in one process or several, may run at once: on
/// PostgreSQL they claim rows with <c>FOR UPDATE SKIP LOCKED</c>, so no message is published by two of them at the same time.
/// </remarks>
public sealed class Outbox
{
    private readonly DbContext _context;
    private readonly OutboxSettings _settings;
    private readonly TimeProvider _clock;

    internal Outbox(DbContext context, OutboxSettings settings, TimeProvider clock)
    {
        _context = context;
        _settings = settings;
        _clock = clock;
    }

    private IOutboxBackend Backend => _context.GetService<IOutboxBackend>();

    private ILogger Logger => EventSourcingLoggers.Of(_context).Outbox;

    /// <summary>
    /// Publishes every committed message that is due, batch by batch, until none is left: each batch is claimed, handed
    /// to <paramref name="publisher"/>, and marked (dispatched, or retried later with backoff, or dead-lettered once its
    /// attempts are exhausted) in one transaction. By default a stream's message waits while an earlier one of the same
    /// stream is pending or retrying.
    /// </summary>
    /// <param name="publisher">Hands each message to the broker; a throw counts as a failed attempt.</param>
    /// <param name="cancellationToken">Stops dispatching; what was already published is still marked.</param>
    /// <returns>The number of messages published.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="publisher"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The context has an open transaction, unsaved changes or staged events.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<int> DispatchPendingAsync(IOutboxPublisher publisher, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        EnsureIdle();
        var options = _context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!;
        var publishing = new OutboxPublishing(_settings, publisher, _clock, Logger, new OutboxMessageUpcast(options.Upcasting, options.Serializer));
        var published = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = await Backend.DispatchBatchAsync(_context, _settings, publishing, _clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            published += batch.Published;
            if (batch.Canceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }

            if (batch.Outcomes.Count == 0)
            {
                return published;
            }
        }
    }

    /// <summary>
    /// Puts the dead-lettered message <paramref name="messageId"/> (all its destinations) back to pending with a fresh
    /// set of attempts, due now. Its last error is kept until the next attempt.
    /// </summary>
    /// <param name="messageId">The message id (the event id).</param>
    /// <param name="cancellationToken">A token to cancel the update.</param>
    /// <returns>The number of outbox rows requeued: 0 when the message is not a dead letter.</returns>
    /// <exception cref="InvalidOperationException">The context has an open transaction, unsaved changes or staged events.</exception>
    public async Task<int> RequeueAsync(Guid messageId, CancellationToken cancellationToken = default)
    {
        EnsureIdle();
        var rows = await Backend.RequeueAsync(_context, messageId, _clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        Logger.OutboxRequeued(messageId, rows);
        return rows;
    }

    /// <summary>Reads the outbox's state: pending and retrying messages, the oldest pending message's age, dead letters.</summary>
    /// <param name="cancellationToken">A token to cancel the reads.</param>
    /// <returns>The stats.</returns>
    public async Task<OutboxStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        var set = _context.Set<StoredOutboxMessage>().AsNoTracking();
        var pending = set.Where(o => o.DispatchedAt == null && o.DeadLetteredAt == null);
        var count = await pending.LongCountAsync(cancellationToken).ConfigureAwait(false);
        var retrying = count == 0 ? 0 : await pending.LongCountAsync(o => o.Attempts > 0, cancellationToken).ConfigureAwait(false);
        var oldest = count == 0 ? null : await pending.MinAsync(o => (DateTimeOffset?)o.CreatedAt, cancellationToken).ConfigureAwait(false);
        var dead = await set.LongCountAsync(o => o.DeadLetteredAt != null, cancellationToken).ConfigureAwait(false);
        TimeSpan? age = oldest is { } created ? Max(_clock.GetUtcNow() - created, TimeSpan.Zero) : null;
        return new OutboxStats(count, retrying, age, dead);
    }

    /// <summary>Deletes messages dispatched longer ago than the retention (<c>RetainDispatchedFor</c>, default 7 days).</summary>
    /// <param name="cancellationToken">A token to cancel the delete.</param>
    /// <returns>The number of messages deleted.</returns>
    /// <exception cref="InvalidOperationException">The context has an open transaction, unsaved changes or staged events.</exception>
    public async Task<int> DeleteDispatchedAsync(CancellationToken cancellationToken = default)
    {
        EnsureIdle();
        var olderThan = _clock.GetUtcNow() - _settings.Retention;
        var rows = await Backend.DeleteDispatchedAsync(_context, olderThan, cancellationToken).ConfigureAwait(false);
        Logger.OutboxDispatchedDeleted(rows, olderThan);
        return rows;
    }

    private void EnsureIdle()
    {
        if (_context.Database.CurrentTransaction is not null
            || _context.GetService<EventStoreSession>().Staged.Count > 0
            || _context.ChangeTracker.HasChanges())
        {
            throw new InvalidOperationException(Messages.OutboxContextBusy);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
