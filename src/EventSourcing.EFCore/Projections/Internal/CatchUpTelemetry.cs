using System.Diagnostics;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// The span (<c>eventsourcing.catch_up</c>) and measurements of one catch-up batch. The span links to the trace context
/// stored with each event of the batch (a batch has many causes, so links rather than one parent); a batch that found
/// nothing to apply is not recorded. A failed batch counts as a projection error; so does each event dead-lettered. After
/// each batch, when someone observes the lag gauges, the projection's lag (and the read-all horizon holding it back) is
/// read and reported.
/// </summary>
internal static class CatchUpTelemetry
{
    /// <summary>Runs one batch (<paramref name="run"/>) inside the span, or runs it bare when nobody listens.</summary>
    public static Task<ProjectionBatchResult> RunAsync(DbContext context, Projection projection, Func<Task<ProjectionBatchResult>> run, CancellationToken cancellationToken)
    {
        var metrics = EventSourcingMetrics.Of(context);
        return EventSourcingActivitySource.Source.HasListeners() || metrics.ProjectionErrors.Enabled || metrics.LagObserved
            ? RunObservedAsync(context, projection, metrics, run, cancellationToken)
            : run();
    }

    /// <summary>Describes the batch on the current catch-up span: positions read, events, and links to the events' trace contexts.</summary>
    public static void Describe(GlobalCheckpoint from, GlobalCheckpoint to, IReadOnlyList<RecordedEvent> events)
    {
        if (Activity.Current is not { OperationName: EventSourcingActivitySource.CatchUpSpan } activity
            || !ReferenceEquals(activity.Source, EventSourcingActivitySource.Source))
        {
            return;
        }

        activity.SetTag(EventSourcingActivitySource.FromPosition, from.Position);
        activity.SetTag(EventSourcingActivitySource.ToPosition, to.Position);
        activity.SetTag(EventSourcingActivitySource.EventsCount, events.Count);
        var linked = new HashSet<ActivityContext>();
        foreach (var e in events)
        {
            if (TraceContextMetadata.TryRead(e.Metadata, out var cause) && linked.Add(cause))
            {
                activity.AddLink(new ActivityLink(cause));
            }
        }
    }

    /// <summary>Counts the events a batch recorded as dead letters as errors of <paramref name="projection"/>.</summary>
    public static void DeadLettered(DbContext context, string projection, int count)
    {
        var errors = EventSourcingMetrics.Of(context).ProjectionErrors;
        if (count > 0 && errors.Enabled)
        {
            errors.Add(count, new KeyValuePair<string, object?>(EventSourcingActivitySource.Projection, projection), new KeyValuePair<string, object?>(EventSourcingActivitySource.ErrorType, "dead_letter"));
        }
    }

    private static async Task<ProjectionBatchResult> RunObservedAsync(
        DbContext context, Projection projection, EventSourcingMetrics metrics, Func<Task<ProjectionBatchResult>> run, CancellationToken cancellationToken)
    {
        using var activity = EventSourcingActivitySource.Source.StartActivity(EventSourcingActivitySource.CatchUpSpan, ActivityKind.Internal);
        activity?.SetTag(EventSourcingActivitySource.Projection, projection.Name);
        ProjectionBatchResult result;
        try
        {
            result = await run().ConfigureAwait(false);
        }
        catch (Exception exception) when (Failed(activity, metrics, projection.Name, exception))
        {
            throw; // not reached: Failed only records
        }

        if (activity is not null && result.Applied == 0)
        {
            activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded; // an idle poll is not exported
        }

        if (metrics.LagObserved)
        {
            var options = context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!;
            Report(metrics, await ProjectionLagReader.ReadAsync(context, projection, options.Registry, options.Upcasting, ProjectionCheckpoints.Clock(context), cancellationToken)
                .ConfigureAwait(false));
        }

        return result;
    }

    /// <summary>
    /// Reports a lag read outside a batch (<c>GetLagAsync</c>, the projections health check) to the gauges while someone
    /// observes them, so a projection that runs no batch (stopped on an error, or not hosted here) still shows how far behind it is.
    /// </summary>
    public static async Task<ProjectionLag> ReportAsync(DbContext context, Task<ProjectionLag> read)
    {
        var lag = await read.ConfigureAwait(false);
        var metrics = EventSourcingMetrics.Of(context);
        if (metrics.LagObserved)
        {
            Report(metrics, lag);
        }

        return lag;
    }

    private static void Report(EventSourcingMetrics metrics, ProjectionLag lag)
        => metrics.ReportLag(lag.Projection, lag.EventsBehind, lag.TimeBehind, lag.HeldBackBy?.TransactionAge ?? TimeSpan.Zero);

    private static bool Failed(Activity? activity, EventSourcingMetrics metrics, string projection, Exception exception)
    {
        if (exception is OperationCanceledException)
        {
            return false;
        }

        if (activity is not null)
        {
            EventSourcingActivitySource.Fail(activity, exception);
        }

        if (metrics.ProjectionErrors.Enabled)
        {
            var cause = exception is ProjectionFailedException { InnerException: { } inner } ? inner : exception;
            metrics.ProjectionErrors.Add(
                1, new KeyValuePair<string, object?>(EventSourcingActivitySource.Projection, projection), new KeyValuePair<string, object?>(EventSourcingActivitySource.ErrorType, cause.GetType().FullName));
        }

        return false;
    }
}
