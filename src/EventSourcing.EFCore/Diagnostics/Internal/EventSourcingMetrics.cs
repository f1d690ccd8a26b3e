using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.EFCore.Diagnostics.Internal;

/// <summary>
/// The library's instruments on the meter <see cref="EventSourcingDiagnostics.MeterName"/>. The meter comes from the
/// application's <see cref="IMeterFactory"/> when the context has an application service provider (AddDbContext, hosted
/// services); a context built without DI reports to one shared static meter (the fallback). Callers check an
/// instrument's <see cref="Instrument.Enabled"/> before building tags, so nothing is allocated while nobody listens.
/// </summary>
internal sealed class EventSourcingMetrics
{
    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly ConditionalWeakTable<IMeterFactory, EventSourcingMetrics> ByFactory = new();
    private static readonly string? Version = EventSourcingActivitySource.Source.Version;

    private readonly ConcurrentDictionary<string, ProjectionState> _projections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, OutboxStats> _outboxes = new(StringComparer.Ordinal);

    private EventSourcingMetrics(Meter meter)
    {
        Meter = meter;
        EventsAppended = meter.CreateCounter<long>("eventsourcing.events.appended", "{event}", "Events appended by saves that committed.");
        Saves = meter.CreateCounter<long>("eventsourcing.saves", "{save}", "Saves that appended events and committed.");
        Conflicts = meter.CreateCounter<long>("eventsourcing.conflicts", "{conflict}", "Saves rejected by an append conflict, by eventsourcing.conflict.kind.");
        SaveDuration = Seconds(meter, "eventsourcing.save.duration", "Duration of saves that append events, from planning the appends to the commit (or the failure).");
        LoadDuration = Seconds(meter, "eventsourcing.load.duration", "Duration of aggregate loads: snapshot read and event replay.");
        SnapshotHits = meter.CreateCounter<long>("eventsourcing.snapshot.hits", "{load}", "Aggregate loads that started from a snapshot.");
        SnapshotMisses = meter.CreateCounter<long>("eventsourcing.snapshot.misses", "{load}", "Loads of a snapshot-capable aggregate that found no usable snapshot.");
        EventsReplayed = meter.CreateHistogram<long>("eventsourcing.load.events_replayed", "{event}", "Events replayed per aggregate load.");
        ProjectionErrors = meter.CreateCounter<long>("eventsourcing.projection.errors", "{error}", "Catch-up projection failures: a batch stopped, or an event dead-lettered.");
        Published = meter.CreateCounter<long>("eventsourcing.outbox.published", "{message}", "Messages the publisher accepted.");
        PublishFailed = meter.CreateCounter<long>("eventsourcing.outbox.failed", "{message}", "Publish attempts that failed (retried or dead-lettered).");
        DeadLettered = meter.CreateCounter<long>("eventsourcing.outbox.dead_lettered", "{message}", "Messages that exhausted their attempts.");
        PublishDuration = Seconds(meter, "eventsourcing.outbox.publish.duration", "Duration of one publish attempt.");
        ProjectionLagEvents = meter.CreateObservableGauge("eventsourcing.projection.lag.events", () => ObserveProjections(p => p.EventsBehind), "{event}", "Events of handled types after the projection's checkpoint, as of its last batch.");
        ProjectionLagTime = meter.CreateObservableGauge("eventsourcing.projection.lag.time", () => ObserveProjections(p => p.SecondsBehind), "s", "Age of the oldest event the projection has not applied, as of its last batch.");
        HorizonAge = meter.CreateObservableGauge("eventsourcing.read_all.horizon.age", () => ObserveProjections(p => p.HorizonAge), "s", "Age of the open transaction that holds read-all back before events the projection waits for (0 when none), as of its last batch.");
        meter.CreateObservableGauge("eventsourcing.outbox.pending", () => ObserveOutboxes(s => s.Pending), "{message}", "Messages not yet published, dead letters excluded.");
        meter.CreateObservableGauge("eventsourcing.outbox.retrying", () => ObserveOutboxes(s => s.Retrying), "{message}", "Pending messages whose earlier attempt failed.");
        meter.CreateObservableGauge("eventsourcing.outbox.oldest_pending_age", () => ObserveOutboxes(s => s.OldestPendingAge?.TotalSeconds ?? 0), "s", "Age of the oldest pending message.");
        meter.CreateObservableGauge("eventsourcing.outbox.dead_letters", () => ObserveOutboxes(s => s.DeadLetters), "{message}", "Messages whose attempts are exhausted.");
    }

    /// <summary>Gets the instruments of contexts built without an application <see cref="IMeterFactory"/>: a shared static meter.</summary>
    public static EventSourcingMetrics Shared { get; } = new(new Meter(EventSourcingDiagnostics.MeterName, Version));

    public Meter Meter { get; }

    public Counter<long> EventsAppended { get; }

    public Counter<long> Saves { get; }

    public Counter<long> Conflicts { get; }

    public Histogram<double> SaveDuration { get; }

    public Histogram<double> LoadDuration { get; }

    public Counter<long> SnapshotHits { get; }

    public Counter<long> SnapshotMisses { get; }

    public Histogram<long> EventsReplayed { get; }

    public Counter<long> ProjectionErrors { get; }

    public ObservableGauge<long> ProjectionLagEvents { get; }

    public ObservableGauge<double> ProjectionLagTime { get; }

    public ObservableGauge<double> HorizonAge { get; }

    /// <summary>Gets a value indicating whether anyone listens to a projection lag or horizon gauge.</summary>
    public bool LagObserved => ProjectionLagEvents.Enabled || ProjectionLagTime.Enabled || HorizonAge.Enabled;

    public Counter<long> Published { get; }

    public Counter<long> PublishFailed { get; }

    public Counter<long> DeadLettered { get; }

    public Histogram<double> PublishDuration { get; }

    /// <summary>Gets the instruments of <paramref name="context"/> (resolved once per context).</summary>
    public static EventSourcingMetrics Of(DbContext context) => context.GetService<EventSourcingMetrics>();

    /// <summary>Returns the instruments on the meter of the application's <see cref="IMeterFactory"/>, or <see cref="Shared"/>.</summary>
    public static EventSourcingMetrics For(IDbContextOptions options)
    {
        var factory = options.FindExtension<CoreOptionsExtension>()?.ApplicationServiceProvider?.GetService<IMeterFactory>();
        return factory is null
            ? Shared
            : ByFactory.GetValue(factory, static f => new EventSourcingMetrics(f.Create(new MeterOptions(EventSourcingDiagnostics.MeterName) { Version = Version })));
    }

    /// <summary>Returns the seconds elapsed since <paramref name="started"/> (a <see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static double SecondsSince(long started) => Stopwatch.GetElapsedTime(started).TotalSeconds;

    /// <summary>Records a catch-up projection's lag, and the age of the transaction holding read-all back (zero when none), after a batch.</summary>
    public void ReportLag(string projection, long eventsBehind, TimeSpan timeBehind, TimeSpan horizonAge)
    {
        var state = _projections.GetOrAdd(projection, static _ => new ProjectionState());
        state.EventsBehind = eventsBehind;
        state.SecondsBehind = timeBehind.TotalSeconds;
        state.HorizonAge = horizonAge.TotalSeconds;
    }

    /// <summary>Records the outbox stats of a context type, as last read.</summary>
    public void ReportOutbox(string contextType, OutboxStats stats) => _outboxes[contextType] = stats;

    private static Histogram<double> Seconds(Meter meter, string name, string description)
        => meter.CreateHistogram(name, "s", description, tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    private IEnumerable<Measurement<T>> ObserveProjections<T>(Func<ProjectionState, T> value)
        where T : struct
        => _projections.Select(p => new Measurement<T>(value(p.Value), new KeyValuePair<string, object?>(EventSourcingActivitySource.Projection, p.Key)));

    private IEnumerable<Measurement<T>> ObserveOutboxes<T>(Func<OutboxStats, T> value)
        where T : struct
        => _outboxes.Select(p => new Measurement<T>(value(p.Value), new KeyValuePair<string, object?>("eventsourcing.context", p.Key)));

    /// <summary>The last lag and horizon a projection's batch saw.</summary>
    private sealed class ProjectionState
    {
        public long EventsBehind { get; set; }

        public double SecondsBehind { get; set; }

        public double HorizonAge { get; set; }
    }
}
