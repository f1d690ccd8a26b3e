using Microsoft.Extensions.Logging;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.OutboxInternal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore;

/// <summary>
/// The transactional outbox of one DbContext, obtained with <c>db.Outbox()</c>: dispatch committed messages to an
/// <see cref="IOutboxPublisher"/>, manage dead letters, read stats, delete old dispatched messages. The hosted
/// dispatcher (<c>services.AddEventSourcingOutbox</c>) calls the same methods; tools and tests call them directly.
/// </summary>
/// <remarks>
/// These methods commit their own work, so they need a context without an open transaction, unsaved changes or staged
/// events (a fresh context is simplest). Several dispatchers, in one process or several, may run at once: each leases
/// the messages it claims in a short transaction and publishes with no transaction open, so no message is published by
/// two of them while its lease holds, and a crashed or stuck dispatcher's messages are claimed again once the lease
/// expires. Due times, leases and retention are on the database's clock (EF InMemory: the configured time provider).
/// </remarks>
public sealed class Outbox
{
    private const int MaxDeadLetterPage = 1000;

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
    /// Publishes every committed message that is due, batch by batch, until none is left. Each batch is leased in a short
    /// transaction (the attempt counts from then on), published with no transaction open (each publish within the
    /// publish timeout), and each message is then marked dispatched, or retried later with backoff, or dead-lettered once
    /// its attempts are exhausted, if this dispatcher still holds its lease. By default a stream's message waits while an
    /// earlier one of the same stream is pending, leased or retrying.
    /// </summary>
    /// <param name="publisher">Hands each message to the broker; a throw or a timeout counts as a failed attempt.</param>
    /// <param name="cancellationToken">Stops dispatching; what was already published is still marked, the rest given back.</param>
    /// <returns>The number of messages published.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="publisher"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The context has an open transaction, unsaved changes or staged events.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<int> DispatchPendingAsync(IOutboxPublisher publisher, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        EnsureIdle();
        var options = _context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!;
        var publishing = new OutboxPublishing(_settings, publisher, new OutboxMessageUpcast(options.Upcasting, options.Serializer), EventSourcingMetrics.Of(_context));
        var published = 0;
        // The connection goes back to the pool between the claim and the recording: a publisher that uses the same pool
        // (an inbox table, a bridge to another database) must find it there while it publishes.
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var claim = await Backend.ClaimAsync(_context, _settings, _clock, NewLeaseOwner(), cancellationToken).ConfigureAwait(false);
            foreach (var expired in claim.DeadLettered)
            {
                Logger.OutboxLeaseExpiredDeadLettered(expired.EventId, expired.Destination, expired.Attempts);
                OutboxOutcomeMetrics.RecordDeadLetterAtClaim(EventSourcingMetrics.Of(_context), expired.Destination);
            }

            if (claim.Messages.Count == 0)
            {
                if (claim.DeadLettered.Count > 0)
                {
                    continue;
                }

                return published;
            }

            var (outcomes, canceled) = await publishing.PublishAsync(claim, cancellationToken).ConfigureAwait(false);

            // Record what was published even when the caller is cancelling: it must not be published again.
            var marks = await Backend.CompleteAsync(_context, _settings, _clock, claim.Owner, outcomes, CancellationToken.None).ConfigureAwait(false);
            published += Report(outcomes, marks);
            if (canceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }

            if (outcomes.All(o => o.Kind == OutboxOutcomeKind.Released))
            {
                // The lease could not cover a single publish (a lease barely longer than the publish timeout): stop here
                // rather than claim and give back the same rows over and over.
                Logger.OutboxLeaseTooShort(_settings.LeaseDuration, _settings.PublishTimeout);
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
    /// <exception cref="ArgumentException"><paramref name="messageId"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The context has an open transaction, unsaved changes or staged events.</exception>
    public async Task<int> RequeueAsync(Guid messageId, CancellationToken cancellationToken = default)
    {
        if (messageId == Guid.Empty)
        {
            throw new ArgumentException(Messages.EmptyMessageId, nameof(messageId));
        }

        EnsureIdle();
        var rows = await Backend.RequeueAsync(_context, DeadLetters(new OutboxDeadLetterFilter { MessageId = messageId }), cancellationToken).ConfigureAwait(false);
        Logger.OutboxRequeued(messageId, rows);
        return rows;
    }

    /// <summary>
    /// Puts the dead letters that <paramref name="filter"/> selects (all of them when it is <see langword="null"/>) back to
    /// pending with a fresh set of attempts, due now.
    /// </summary>
    /// <param name="filter">Selects dead letters by destination, error text or message id; <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">A token to cancel the update.</param>
    /// <returns>The number of outbox rows requeued.</returns>
    /// <exception cref="InvalidOperationException">The context has an open transaction, unsaved changes or staged events.</exception>
    public async Task<int> RequeueDeadLettersAsync(OutboxDeadLetterFilter? filter = null, CancellationToken cancellationToken = default)
    {
        EnsureIdle();
        var rows = await Backend.RequeueAsync(_context, DeadLetters(filter), cancellationToken).ConfigureAwait(false);
        Logger.OutboxDeadLettersRequeued(rows, filter?.Destination, filter?.ErrorContains);
        return rows;
    }

    /// <summary>Deletes the dead letters that <paramref name="filter"/> selects (all of them when it is <see langword="null"/>).</summary>
    /// <param name="filter">Selects dead letters by destination, error text or message id; <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">A token to cancel the delete.</param>
    /// <returns>The number of outbox rows deleted.</returns>
    /// <exception cref="InvalidOperationException">The context has an open transaction, unsaved changes or staged events.</exception>
    public async Task<int> PurgeDeadLettersAsync(OutboxDeadLetterFilter? filter = null, CancellationToken cancellationToken = default)
    {
        EnsureIdle();
        var rows = await Backend.PurgeAsync(_context, DeadLetters(filter), cancellationToken).ConfigureAwait(false);
        Logger.OutboxDeadLettersPurged(rows, filter?.Destination, filter?.ErrorContains);
        return rows;
    }

    /// <summary>
    /// Lists dead letters in row id order, one page at a time: pass the <see cref="OutboxDeadLetter.Id"/> of the last
    /// dead letter of a page as <paramref name="afterId"/> to read the next one.
    /// </summary>
    /// <param name="filter">Selects dead letters by destination, error text or message id; <see langword="null"/> for all.</param>
    /// <param name="afterId">Returns only rows with a larger id (0 for the first page).</param>
    /// <param name="limit">The page size, 1 to 1000 (default 100).</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>Up to <paramref name="limit"/> dead letters; fewer (or none) at the end.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="afterId"/> is negative, or <paramref name="limit"/> is outside 1 to 1000.</exception>
    public async Task<IReadOnlyList<OutboxDeadLetter>> GetDeadLettersAsync(
        OutboxDeadLetterFilter? filter = null, long afterId = 0, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterId);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxDeadLetterPage);
        var rows = await DeadLetters(filter).AsNoTracking().Where(o => o.Id > afterId).OrderBy(o => o.Id).Take(limit)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.Select(OutboxDeadLetters.ToDeadLetter).ToList();
    }

    /// <summary>Reads one dead letter by its outbox row id (<see cref="OutboxDeadLetter.Id"/>).</summary>
    /// <param name="id">The outbox row id.</param>
    /// <param name="cancellationToken">A token to cancel the read.</param>
    /// <returns>The dead letter, or <see langword="null"/> when that row is not (or no longer) a dead letter.</returns>
    public async Task<OutboxDeadLetter?> FindDeadLetterAsync(long id, CancellationToken cancellationToken = default)
    {
        var row = await DeadLetters(null).AsNoTracking().Where(o => o.Id == id).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return row is null ? null : OutboxDeadLetters.ToDeadLetter(row);
    }

    /// <summary>Reads the outbox's state: pending and retrying messages, the oldest pending message's age, dead letters.</summary>
    /// <param name="cancellationToken">A token to cancel the reads.</param>
    /// <returns>The stats.</returns>
    public async Task<OutboxStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        var set = _context.Set<StoredOutboxMessage>().AsNoTracking();
        var pending = set.Where(o => o.DispatchedAt == null && o.DeadLetteredAt == null);
        var count = await pending.LongCountAsync(cancellationToken).ConfigureAwait(false);
        var retrying = count == 0 ? 0 : await pending.LongCountAsync(o => o.Attempts > 0 && o.LeaseOwner == null, cancellationToken).ConfigureAwait(false);
        var oldest = count == 0 ? null : await pending.MinAsync(o => (DateTimeOffset?)o.CreatedAt, cancellationToken).ConfigureAwait(false);
        var dead = await set.LongCountAsync(o => o.DeadLetteredAt != null, cancellationToken).ConfigureAwait(false);
        TimeSpan? age = null;
        if (oldest is { } created)
        {
            var now = await Backend.GetNowAsync(_context, _clock, cancellationToken).ConfigureAwait(false);
            age = Max(now - created, TimeSpan.Zero);
        }

        var stats = new OutboxStats(count, retrying, age, dead);
        EventSourcingMetrics.Of(_context).ReportOutbox(_context.GetType().Name, stats);
        return stats;
    }

    /// <summary>
    /// Deletes messages dispatched longer ago than the retention (<c>RetainDispatchedFor</c>, default 7 days), on the
    /// database's clock.
    /// </summary>
    /// <param name="cancellationToken">A token to cancel the delete.</param>
    /// <returns>The number of messages deleted.</returns>
    /// <exception cref="InvalidOperationException">The context has an open transaction, unsaved changes or staged events.</exception>
    public async Task<int> DeleteDispatchedAsync(CancellationToken cancellationToken = default)
    {
        EnsureIdle();
        var now = await Backend.GetNowAsync(_context, _clock, cancellationToken).ConfigureAwait(false);
        var olderThan = now - _settings.Retention;
        var rows = await Backend.DeleteDispatchedAsync(_context, olderThan, cancellationToken).ConfigureAwait(false);
        Logger.OutboxDispatchedDeleted(rows, olderThan);
        return rows;
    }

    private IQueryable<StoredOutboxMessage> DeadLetters(OutboxDeadLetterFilter? filter)
        => OutboxDeadLetters.Select(_context.Set<StoredOutboxMessage>(), filter);

    private static string NewLeaseOwner()
    {
        var owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
        return owner.Length <= OutboxModel.LeaseOwnerMaxLength ? owner : owner[^OutboxModel.LeaseOwnerMaxLength..];
    }

    /// <summary>Logs and counts what became of each leased row (<paramref name="marks"/>: one per outcome, in order); returns how many the publisher accepted.</summary>
    private int Report(IReadOnlyList<OutboxOutcome> outcomes, IReadOnlyList<OutboxMark> marks)
    {
        var metrics = EventSourcingMetrics.Of(_context);
        var published = 0;
        var failed = 0;
        for (var i = 0; i < outcomes.Count; i++)
        {
            var outcome = outcomes[i];
            var message = outcome.Message;
            var mark = marks[i];
            if (outcome.Kind == OutboxOutcomeKind.Published)
            {
                published++;
            }
            else if (outcome.Kind == OutboxOutcomeKind.Failed)
            {
                failed++;
            }

            if (mark.State == OutboxRowState.LeaseLost)
            {
                if (outcome.Kind != OutboxOutcomeKind.Released)
                {
                    Logger.OutboxLeaseLost(message.EventId, message.Destination, message.Attempts, outcome.Kind == OutboxOutcomeKind.Published);
                }

                continue;
            }

            OutboxOutcomeMetrics.Record(metrics, mark.State, message.Destination);
            if (mark.State == OutboxRowState.Retrying)
            {
                Logger.OutboxPublishFailed(message, message.Attempts, mark.NextAttemptAt!.Value, outcome.Exception!);
            }
            else if (mark.State == OutboxRowState.DeadLettered)
            {
                Logger.OutboxDeadLettered(message, message.Attempts, outcome.Exception!);
            }
        }

        Logger.OutboxBatchDispatched(published, failed, outcomes.Count);
        return published;
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
