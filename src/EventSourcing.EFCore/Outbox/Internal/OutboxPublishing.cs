using System.Diagnostics;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// Publishes one claimed (leased) batch with no transaction open, the same way on every backend. Each publish gets the
/// publish timeout: then its token is cancelled, the dispatcher stops waiting, and it counts as a failed attempt. No
/// publish starts that the lease could not cover (the rest of the batch is released). Ordered mode walks each stream's
/// rows in version order and stops the stream at a row that will be retried (the rows after it are released); unordered
/// mode publishes concurrently.
/// </summary>
internal sealed class OutboxPublishing(OutboxSettings settings, IOutboxPublisher publisher, OutboxMessageUpcast upcast, EventSourcingMetrics metrics)
{
    private const int MaxErrorLength = 4000;

    /// <summary>Publishes <paramref name="claim"/>; returns one outcome per claimed row and whether the caller cancelled.</summary>
    public async Task<(List<OutboxOutcome> Outcomes, bool Canceled)> PublishAsync(OutboxClaim claim, CancellationToken cancellationToken)
    {
        // The lease is on the database's clock; measure what is left of it with a local monotonic clock from the claim.
        var lease = new LeaseBudget(claim.LeaseExpiresAt - claim.DatabaseNow, settings.PublishTimeout);
        var outcomes = new OutboxOutcome?[claim.Messages.Count];
        var canceled = false;
        try
        {
            if (settings.PreserveStreamOrder)
            {
                await PublishOrderedAsync(claim.Messages, outcomes, lease, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await PublishUnorderedAsync(claim.Messages, outcomes, lease, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            canceled = true;
        }

        // Whatever was not attempted (or was cut short by the caller's cancellation) gives its attempt back.
        var result = new List<OutboxOutcome>(outcomes.Length);
        for (var i = 0; i < outcomes.Length; i++)
        {
            result.Add(outcomes[i] ?? new OutboxOutcome(claim.Messages[i], OutboxOutcomeKind.Released));
        }

        return (result, canceled);
    }

    private async Task PublishOrderedAsync(IReadOnlyList<OutboxCandidate> messages, OutboxOutcome?[] outcomes, LeaseBudget lease, CancellationToken cancellationToken)
    {
        // Streams in the order they first appear in the claim, each stream's rows by version (then id): one sort of row
        // indexes, no grouping per stream.
        var streamRank = new Dictionary<StreamId, int>(messages.Count);
        foreach (var message in messages)
        {
            streamRank.TryAdd(message.StreamId, streamRank.Count);
        }

        var order = new int[messages.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (a, b) =>
        {
            var (x, y) = (messages[a], messages[b]);
            var byStream = streamRank[x.StreamId].CompareTo(streamRank[y.StreamId]);
            return byStream != 0 ? byStream : x.StreamVersion != y.StreamVersion ? x.StreamVersion.CompareTo(y.StreamVersion) : x.Id.CompareTo(y.Id);
        });

        StreamId? stream = null;
        long? stopAbove = null;
        foreach (var i in order)
        {
            var message = messages[i];
            if (message.StreamId != stream)
            {
                (stream, stopAbove) = (message.StreamId, null);
            }

            // Rows of one version (one event, several destinations) are not ordered among themselves.
            if (message.StreamVersion > stopAbove)
            {
                continue;
            }

            if (!lease.CoversAnotherPublish)
            {
                return;
            }

            var outcome = await AttemptAsync(message, cancellationToken).ConfigureAwait(false);
            outcomes[i] = outcome;
            if (outcome.Kind == OutboxOutcomeKind.Failed && message.Attempts < settings.MaxAttempts)
            {
                // A dead letter no longer holds its stream back; a row that will be retried does.
                stopAbove = Math.Min(stopAbove ?? long.MaxValue, message.StreamVersion);
            }
        }
    }

    private async Task PublishUnorderedAsync(IReadOnlyList<OutboxCandidate> messages, OutboxOutcome?[] outcomes, LeaseBudget lease, CancellationToken cancellationToken)
        => await Parallel.ForEachAsync(
                Enumerable.Range(0, messages.Count),
                new ParallelOptions { MaxDegreeOfParallelism = settings.MaxDegreeOfParallelism, CancellationToken = cancellationToken },
                async (i, ct) =>
                {
                    if (lease.CoversAnotherPublish)
                    {
                        outcomes[i] = await AttemptAsync(messages[i], ct).ConfigureAwait(false);
                    }
                })
            .ConfigureAwait(false);

    private async ValueTask<OutboxOutcome> AttemptAsync(OutboxCandidate candidate, CancellationToken cancellationToken)
    {
        using var telemetry = OutboxPublishTelemetry.Start(metrics, publisher, candidate);
        var outcome = await AttemptUnobservedAsync(candidate, cancellationToken).ConfigureAwait(false);
        telemetry?.Complete(outcome);
        return outcome;
    }

    private async ValueTask<OutboxOutcome> AttemptUnobservedAsync(OutboxCandidate candidate, CancellationToken cancellationToken)
    {
        OutboxMessage message;
        try
        {
            // A row an upcaster cannot read counts as a failed attempt (retried, then dead-lettered), never published.
            message = OutboxPublishTelemetry.Continue(upcast.Message(candidate, candidate.Attempts));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return Failed(candidate, exception);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.PublishTimeout);
        Task publish;
        try
        {
            publish = publisher.PublishAsync(message, timeout.Token);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A publisher that throws before returning its task fails the attempt like one whose task faults.
            return Failed(candidate, exception);
        }

        try
        {
            // WaitAsync: a publisher that ignores its token does not hold the dispatcher beyond the timeout.
            await publish.WaitAsync(timeout.Token).ConfigureAwait(false);
            return new OutboxOutcome(candidate, OutboxOutcomeKind.Published);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Abandon(publish);
            var timedOut = new TimeoutException($"The publish did not complete within the publish timeout of {settings.PublishTimeout}.");
            return Failed(candidate, timedOut);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Any failure of the user's publisher is what retries and dead letters exist for: record it and go on.
            return Failed(candidate, exception);
        }
    }

    private static OutboxOutcome Failed(OutboxCandidate candidate, Exception exception)
    {
        var text = exception.GetType().FullName + ": " + exception.Message;
        return new OutboxOutcome(candidate, OutboxOutcomeKind.Failed, text.Length <= MaxErrorLength ? text : text[..MaxErrorLength], exception);
    }

    /// <summary>Observes the fault of a publish the dispatcher stopped waiting for, so it is not an unobserved task exception.</summary>
    private static void Abandon(Task publish)
        => publish.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    /// <summary>What is left of a lease, on a monotonic clock started at the claim.</summary>
    private sealed class LeaseBudget(TimeSpan lease, TimeSpan publishTimeout)
    {
        private readonly Stopwatch _since = Stopwatch.StartNew();

        /// <summary>Gets a value indicating whether a publish started now ends (or times out) before the lease expires.</summary>
        public bool CoversAnotherPublish => lease - _since.Elapsed > publishTimeout;
    }
}
