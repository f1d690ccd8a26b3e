using Microsoft.Extensions.Logging;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// Publishes one claimed batch, the same way on every backend. Ordered mode walks each stream's rows in version order
/// and stops a stream at a row that will be retried, or before a version that an unclaimed pending row of the stream
/// (held by another dispatcher, or not yet due) still precedes. Unordered mode publishes concurrently.
/// </summary>
internal sealed class OutboxPublishing(OutboxSettings settings, IOutboxPublisher publisher, TimeProvider clock, ILogger logger, OutboxMessageUpcast upcast)
{
    private const int MaxErrorLength = 4000;

    /// <param name="candidates">The claimed rows, in claim (id) order.</param>
    /// <param name="blockers">
    /// Per stream, the lowest version of a pending row that is not among <paramref name="candidates"/>: claimed rows of a
    /// later version must wait for it (ordered mode only).
    /// </param>
    /// <param name="cancellationToken">Stops publishing; the outcomes so far are returned so they can be recorded.</param>
    public async Task<OutboxBatchResult> PublishAsync(
        IReadOnlyList<OutboxCandidate> candidates, IReadOnlyDictionary<StreamId, long> blockers, CancellationToken cancellationToken)
    {
        var outcomes = new List<OutboxOutcome>(candidates.Count);
        var canceled = false;
        try
        {
            if (settings.PreserveStreamOrder)
            {
                await PublishOrderedAsync(candidates, blockers, outcomes, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await PublishUnorderedAsync(candidates, outcomes, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            canceled = true;
        }

        var result = new OutboxBatchResult(candidates.Count, outcomes, canceled);
        logger.OutboxBatchDispatched(result.Published, outcomes.Count - result.Published, candidates.Count);
        return result;
    }

    private async Task PublishOrderedAsync(
        IReadOnlyList<OutboxCandidate> candidates, IReadOnlyDictionary<StreamId, long> blockers, List<OutboxOutcome> outcomes, CancellationToken cancellationToken)
    {
        foreach (var stream in candidates.GroupBy(c => c.StreamId))
        {
            long? stopAbove = blockers.TryGetValue(stream.Key, out var blocker) ? blocker : null;
            foreach (var candidate in stream.OrderBy(c => c.StreamVersion).ThenBy(c => c.Id))
            {
                // Rows of one version (one event, several destinations) are not ordered among themselves.
                if (candidate.StreamVersion > stopAbove)
                {
                    break;
                }

                var outcome = await PublishOneAsync(candidate, cancellationToken).ConfigureAwait(false);
                outcomes.Add(outcome);
                if (!outcome.Published && !outcome.DeadLettered)
                {
                    // A dead letter no longer holds its stream back; a row that will be retried does.
                    stopAbove = Math.Min(stopAbove ?? long.MaxValue, candidate.StreamVersion);
                }
            }
        }
    }

    private async Task PublishUnorderedAsync(IReadOnlyList<OutboxCandidate> candidates, List<OutboxOutcome> outcomes, CancellationToken cancellationToken)
    {
        var results = new OutboxOutcome?[candidates.Count];
        try
        {
            await Parallel.ForEachAsync(
                    Enumerable.Range(0, candidates.Count),
                    new ParallelOptions { MaxDegreeOfParallelism = settings.MaxDegreeOfParallelism, CancellationToken = cancellationToken },
                    async (i, ct) => results[i] = await PublishOneAsync(candidates[i], ct).ConfigureAwait(false))
                .ConfigureAwait(false);
        }
        finally
        {
            outcomes.AddRange(results.OfType<OutboxOutcome>());
        }
    }

    private async Task<OutboxOutcome> PublishOneAsync(OutboxCandidate candidate, CancellationToken cancellationToken)
    {
        var outcome = await AttemptAsync(candidate, cancellationToken).ConfigureAwait(false);
        OutboxMetrics.Record(outcome, candidate.Destination);
        return outcome;
    }

    private async Task<OutboxOutcome> AttemptAsync(OutboxCandidate candidate, CancellationToken cancellationToken)
    {
        var attempt = candidate.Attempts + 1;
        try
        {
            // Built inside the try: a row an upcaster cannot read counts as a failed attempt (retried, then dead-lettered).
            var message = upcast.Message(candidate, attempt);
            await publisher.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Any failure of the user's publisher is what retries and dead letters exist for: record it and go on.
            var now = clock.GetUtcNow();
            var error = Describe(exception);
            if (attempt >= settings.MaxAttempts)
            {
                logger.OutboxDeadLettered(candidate, attempt, exception);
                return new OutboxOutcome(candidate.Id, attempt, now, NextAttemptAt: null, error);
            }

            var next = now + settings.BackoffAfter(attempt);
            logger.OutboxPublishFailed(candidate, attempt, next, exception);
            return new OutboxOutcome(candidate.Id, attempt, now, next, error);
        }

        return new OutboxOutcome(candidate.Id, attempt, clock.GetUtcNow(), NextAttemptAt: null, Error: null);
    }

    private static string Describe(Exception exception)
    {
        var text = exception.GetType().FullName + ": " + exception.Message;
        return text.Length <= MaxErrorLength ? text : text[..MaxErrorLength];
    }

    /// <summary>Returns, per stream, the lowest version among <paramref name="pending"/> rows.</summary>
    public static Dictionary<StreamId, long> LowestVersions(IEnumerable<StoredOutboxMessage> pending)
    {
        var lowest = new Dictionary<StreamId, long>();
        foreach (var row in pending)
        {
            var stream = new StreamId(row.StreamType, row.StreamId);
            if (!lowest.TryGetValue(stream, out var version) || row.StreamVersion < version)
            {
                lowest[stream] = row.StreamVersion;
            }
        }

        return lowest;
    }
}
