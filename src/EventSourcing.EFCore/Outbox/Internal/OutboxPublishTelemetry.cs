using System.Diagnostics;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// The span of one publish attempt (<c>publish {destination}</c>, kind Producer, OpenTelemetry messaging conventions)
/// and its duration. The span is a child of the trace context stored with the event (one cause, so a parent rather than
/// a link), or of the current activity when the event has none; the message's <c>traceparent</c> header then names the
/// publish span, so a consumer continues the same trace below it.
/// </summary>
internal sealed class OutboxPublishTelemetry : IDisposable
{
    private readonly EventSourcingMetrics _metrics;
    private readonly Activity? _activity;
    private readonly string _destination;
    private readonly long _started = Stopwatch.GetTimestamp();
    private OutboxOutcomeKind? _outcome;
    private string? _errorType;

    private OutboxPublishTelemetry(EventSourcingMetrics metrics, IOutboxPublisher publisher, OutboxCandidate candidate)
    {
        _metrics = metrics;
        _destination = candidate.Destination;
        if (!EventSourcingActivitySource.Source.HasListeners())
        {
            return;
        }

        var headers = OutboxStaging.ReadHeaders(candidate.Headers, globalPosition: null);
        var parent = TraceContextMetadata.TryRead(headers, out var cause) ? cause : Activity.Current?.Context ?? default;
        _activity = EventSourcingActivitySource.Source.StartActivity(
            EventSourcingActivitySource.PublishOperation + " " + candidate.Destination, ActivityKind.Producer, parent);
        if (_activity is not null)
        {
            _activity.SetTag(EventSourcingActivitySource.MessagingSystem, publisher.MessagingSystem);
            _activity.SetTag(EventSourcingActivitySource.MessagingDestination, candidate.Destination);
            _activity.SetTag(EventSourcingActivitySource.MessagingMessageId, candidate.EventId.ToString());
            _activity.SetTag(EventSourcingActivitySource.MessagingOperationType, EventSourcingActivitySource.PublishOperation);
            _activity.SetTag(EventSourcingActivitySource.MessagingOperationName, EventSourcingActivitySource.PublishOperation);
        }
    }

    /// <summary>Starts the telemetry of one attempt, or returns null when nobody listens.</summary>
    public static OutboxPublishTelemetry? Start(EventSourcingMetrics metrics, IOutboxPublisher publisher, OutboxCandidate candidate)
        => EventSourcingActivitySource.Source.HasListeners() || metrics.PublishDuration.Enabled ? new OutboxPublishTelemetry(metrics, publisher, candidate) : null;

    /// <summary>
    /// Returns <paramref name="message"/> with its <c>traceparent</c> header naming the current publish span (the consumer
    /// continues below it), or unchanged when no publish span is current.
    /// </summary>
    public static OutboxMessage Continue(OutboxMessage message)
    {
        if (Activity.Current is not { Kind: ActivityKind.Producer, IdFormat: ActivityIdFormat.W3C } activity
            || !ReferenceEquals(activity.Source, EventSourcingActivitySource.Source))
        {
            return message;
        }

        var headers = new Dictionary<string, string>(message.Headers, StringComparer.Ordinal)
        {
            [EventSourcingDiagnostics.TraceParentMetadataKey] = activity.Id!,
        };
        if (activity.TraceStateString is { Length: > 0 } state)
        {
            headers[EventSourcingDiagnostics.TraceStateMetadataKey] = state;
        }

        return new OutboxMessage
        {
            MessageId = message.MessageId,
            Destination = message.Destination,
            EventType = message.EventType,
            Payload = message.Payload,
            Headers = headers,
            StreamId = message.StreamId,
            Attempt = message.Attempt,
        };
    }

    /// <summary>Records the attempt's outcome.</summary>
    public void Complete(OutboxOutcome outcome)
    {
        _outcome = outcome.Kind;
        _errorType = outcome.Exception?.GetType().FullName;
        if (_activity is not null && outcome.Exception is { } exception)
        {
            EventSourcingActivitySource.Fail(_activity, exception);
        }
    }

    public void Dispose()
    {
        if (_metrics.PublishDuration.Enabled && _outcome is not OutboxOutcomeKind.Released and not null)
        {
            var destination = new KeyValuePair<string, object?>(EventSourcingActivitySource.MessagingDestination, _destination);
            if (_errorType is null)
            {
                _metrics.PublishDuration.Record(EventSourcingMetrics.SecondsSince(_started), destination);
            }
            else
            {
                _metrics.PublishDuration.Record(EventSourcingMetrics.SecondsSince(_started), destination, new KeyValuePair<string, object?>(EventSourcingActivitySource.ErrorType, _errorType));
            }
        }

        _activity?.Dispose();
    }
}
