using System.Diagnostics;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Testing;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Traces and metrics (docs/observability.md): the documented spans with their tags, the append's W3C trace context
/// stored with the events (switchable off, never overwriting the caller's) and carried to the outbox headers, a catch-up
/// batch linking to the appending trace, and each instrument moving as documented on the meter of the application's
/// <c>IMeterFactory</c>. Spans are told apart by the test's own trace id (listeners are process-wide).
/// </summary>
public abstract class TelemetryTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private TelemetryCapture _capture = null!;

    [SetUp]
    public void StartCapture() => _capture = new TelemetryCapture();

    [TearDown]
    public void StopCapture() => _capture.Dispose();

    [Test]
    public virtual async Task A_save_that_appends_has_a_span_with_streams_and_events_and_a_conflict_is_tagged_by_kind([Values] bool async)
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var streams = Enumerable.Range(0, random.Next(1, 4)).Select(_ => NewStream()).ToArray();
        var counts = streams.Select(_ => random.Next(1, 6)).ToArray();
        using var root = TelemetryCapture.TestSource.StartActivity("command")!;
        await using (var db = CreateTelemetryContext())
        {
            for (var i = 0; i < streams.Length; i++)
            {
                db.Events().Append(streams[i], ExpectedVersion.NoStream, Enumerable.Range(1, counts[i]).Select(n => (object)new Deposited(n)));
            }

            await SaveAsync(db, async);
        }

        await using (var db = CreateTelemetryContext())
        {
            db.Events().Append(streams[0], ExpectedVersion.NoStream, new Deposited(1));
            Assert.That(async () => await SaveAsync(db, async), Throws.InstanceOf<StreamConcurrencyException>());
        }

        var saves = _capture.SpansOf(root.TraceId, "eventsourcing.save");
        Assert.That(saves, Has.Count.EqualTo(2));
        Assert.Multiple(() =>
        {
            Assert.That(saves[0].GetTagItem("eventsourcing.streams.count"), Is.EqualTo(streams.Length));
            Assert.That(saves[0].GetTagItem("eventsourcing.events.count"), Is.EqualTo(counts.Sum()));
            Assert.That(saves[0].Status, Is.EqualTo(ActivityStatusCode.Ok));
            Assert.That(saves[0].ParentSpanId, Is.EqualTo(root.SpanId), "a child of the caller's activity");
            Assert.That(saves[1].Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(saves[1].GetTagItem("eventsourcing.conflict.kind"), Is.EqualTo("version"));
            Assert.That(saves[1].GetTagItem("error.type"), Is.EqualTo(typeof(StreamConcurrencyException).FullName));
            Assert.That(Activity.Current, Is.SameAs(root), "the save span never stays current");
        });

        var events = await ReadStreamAsync(streams[0]);
        Assert.That(events.Select(e => e.Metadata.GetValueOrDefault(EventSourcingDiagnostics.TraceParentMetadataKey)), Has.All.EqualTo(root.Id),
            "each appended event stores the caller's traceparent");
    }

    /// <summary>
    /// EF runs its DetectChanges after the SavingChanges interceptors and reports its failure to none of them; the
    /// library runs it itself inside its failure handling, so a save that fails there (a changed key) never leaves its
    /// span open, on both providers.
    /// </summary>
    [Test]
    public virtual async Task A_save_that_fails_in_DetectChanges_ends_its_span_as_an_error([Values] bool async, [Values] bool userInterceptor)
    {
        using var root = TelemetryCapture.TestSource.StartActivity("command")!;
        var options = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions()).UseApplicationServiceProvider(_capture.Services);
        if (userInterceptor)
        {
            options.AddInterceptors(new NoOpSaveChangesInterceptor()); // on PostgreSQL: EF's own pipeline, not the direct write
        }

        await using (var db = new TestDbContext(options.Options))
        {
            var customer = new Customer { Name = "key", Email = Guid.NewGuid() + "@example.com" };
            db.Customers.Add(customer);
            await SaveAsync(db, async);
            customer.Id = Guid.NewGuid();
            db.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(1));
            Assert.That(async () => await SaveAsync(db, async), Throws.InstanceOf<InvalidOperationException>());
        }

        // Where the library detects the failure before it starts the save's span (EF InMemory detects changes before
        // taking its lock), there is no span; otherwise the span ends as an error. None stays open.
        var started = _capture.StartedOf(root.TraceId, "eventsourcing.save");
        var ended = _capture.SpansOf(root.TraceId, "eventsourcing.save");
        Assert.That(ended, Is.EquivalentTo(started), "every save span that started also ended");
        Assert.That(ended.Select(s => s.Status), Has.All.EqualTo(ActivityStatusCode.Error));
        Assert.That(ended.Select(s => s.GetTagItem("error.type")), Has.All.EqualTo(typeof(InvalidOperationException).FullName));
        Assert.That(Activity.Current, Is.SameAs(root));
    }

    [Test]
    public virtual async Task Load_and_read_all_spans_carry_stream_snapshot_replay_and_position_tags()
    {
        var id = Guid.NewGuid();
        await using (var db = CreateTelemetryContext(es => es.SnapshotEvery<Portfolio>(4)))
        {
            var portfolio = Portfolio.Open(id, "ann");
            for (var i = 0; i < 5; i++)
            {
                portfolio.Buy("ACME", 1, 10m);
            }

            db.Aggregates<Portfolio>().Add(portfolio); // version 6: a snapshot at 6
            await db.SaveChangesAsync();
        }

        await using (var db = CreateTelemetryContext(es => es.SnapshotEvery<Portfolio>(4)))
        {
            var portfolio = await db.Aggregates<Portfolio>().LoadAsync(id);
            portfolio.Buy("ACME", 1, 10m); // version 7
            await db.SaveChangesAsync();
        }

        using var root = TelemetryCapture.TestSource.StartActivity("query")!;
        await using (var db = CreateTelemetryContext(es => es.SnapshotEvery<Portfolio>(4)))
        {
            await db.Aggregates<Portfolio>().LoadAsync(id);
            await ToListAsync(db.Events().ReadAllAsync(GlobalCheckpoint.Start, batchSize: 4));
        }

        var load = _capture.SpansOf(root.TraceId, "eventsourcing.load").Single();
        var pages = _capture.SpansOf(root.TraceId, "eventsourcing.read_all");
        Assert.Multiple(() =>
        {
            Assert.That(load.GetTagItem("eventsourcing.stream.id"), Is.EqualTo(id.ToString()));
            Assert.That(load.GetTagItem("eventsourcing.stream.type"), Is.Not.Null.And.Not.Empty);
            Assert.That(load.GetTagItem("eventsourcing.snapshot.used"), Is.EqualTo(true));
            Assert.That(load.GetTagItem("eventsourcing.snapshot.version"), Is.EqualTo(6L));
            Assert.That(load.GetTagItem("eventsourcing.events.replayed"), Is.EqualTo(1L));
            Assert.That(pages.Select(p => p.GetTagItem("eventsourcing.events.count")), Is.EqualTo(new object[] { 4, 3 }), "7 events, pages of 4");
            Assert.That(pages[0].GetTagItem("eventsourcing.position.from"), Is.EqualTo(0L));
            Assert.That(pages[1].GetTagItem("eventsourcing.position.from"), Is.EqualTo(pages[0].GetTagItem("eventsourcing.position.to")));
        });
    }

    [Test]
    public virtual async Task Trace_recording_switched_off_stores_no_traceparent_and_a_callers_value_is_never_overwritten([Values] bool async)
    {
        var off = NewStream();
        var own = NewStream();
        const string callers = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        using (TelemetryCapture.TestSource.StartActivity("command"))
        {
            await using (var db = CreateTelemetryContext(es => es.RecordTraceContext(false)))
            {
                db.Events().Append(off, ExpectedVersion.NoStream, new Deposited(1));
                await SaveAsync(db, async);
            }

            await using (var db = CreateTelemetryContext())
            {
                db.Events().Append(own, ExpectedVersion.NoStream, new EventData(new Deposited(1))
                {
                    Metadata = new Dictionary<string, string> { [EventSourcingDiagnostics.TraceParentMetadataKey] = callers },
                });
                await SaveAsync(db, async);
            }
        }

        Assert.Multiple(async () =>
        {
            Assert.That((await ReadStreamAsync(off)).Single().Metadata.ContainsKey(EventSourcingDiagnostics.TraceParentMetadataKey), Is.False);
            Assert.That((await ReadStreamAsync(own)).Single().Metadata[EventSourcingDiagnostics.TraceParentMetadataKey], Is.EqualTo(callers));
        });
    }

    [Test]
    public virtual async Task An_outbox_publish_is_a_producer_span_below_the_appending_trace_and_its_headers_carry_that_trace()
    {
        var stream = NewStream();
        ActivityTraceId appending;
        using (var root = TelemetryCapture.TestSource.StartActivity("command")!)
        {
            appending = root.TraceId;
            await using var db = CreateTelemetryContext(es => es.UseOutbox(o => o.PublishAll("ledger")));
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            await db.SaveChangesAsync();
        }

        var publisher = new RecordingOutboxPublisher();
        await using (var db = CreateTelemetryContext(es => es.UseOutbox(o => o.PublishAll("ledger"))))
        {
            Assert.That(Activity.Current, Is.Null, "the dispatcher runs outside the command's trace");
            Assert.That(await db.Outbox().DispatchPendingAsync(publisher), Is.EqualTo(2));
        }

        var spans = _capture.SpansOf(appending, "publish ledger");
        Assert.That(spans, Has.Count.EqualTo(2));
        Assert.Multiple(() =>
        {
            foreach (var (span, message) in spans.OrderBy(s => s.GetTagItem("messaging.message.id")).Zip(publisher.Published.OrderBy(m => m.MessageId.ToString())))
            {
                Assert.That(span.Kind, Is.EqualTo(ActivityKind.Producer));
                Assert.That(span.GetTagItem("messaging.system"), Is.EqualTo("eventsourcing.outbox"));
                Assert.That(span.GetTagItem("messaging.destination.name"), Is.EqualTo("ledger"));
                Assert.That(span.GetTagItem("messaging.operation.type"), Is.EqualTo("publish"));
                Assert.That(span.GetTagItem("messaging.message.id"), Is.EqualTo(message.MessageId.ToString()));
                Assert.That(ActivityContext.Parse(message.Headers[EventSourcingDiagnostics.TraceParentMetadataKey], null).TraceId, Is.EqualTo(appending));
                Assert.That(message.Headers[EventSourcingDiagnostics.TraceParentMetadataKey], Is.EqualTo(span.Id), "a consumer continues below the publish span");
            }
        });
    }

    [Test]
    public virtual async Task A_catch_up_batch_links_to_each_appending_trace()
    {
        var traces = new List<ActivityTraceId>();
        for (var i = 0; i < 3; i++)
        {
            using var root = TelemetryCapture.TestSource.StartActivity("command")!;
            traces.Add(root.TraceId);
            await using var db = CreateTelemetryContext();
            db.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(i + 1));
            await db.SaveChangesAsync();
        }

        await using (var db = CreateTelemetryContext(es => es.AddProjection<BalanceProjection>()))
        {
            Assert.That(await db.Projections().CatchUpAsync("balances"), Is.EqualTo(3));
        }

        var batch = _capture.Spans.Single(a => a.OperationName == "eventsourcing.catch_up" && a.Links.Any(l => l.Context.TraceId == traces[0]));
        Assert.Multiple(() =>
        {
            Assert.That(batch.Links.Select(l => l.Context.TraceId), Is.EquivalentTo(traces));
            Assert.That(batch.GetTagItem("eventsourcing.projection.name"), Is.EqualTo("balances"));
            Assert.That(batch.GetTagItem("eventsourcing.events.count"), Is.EqualTo(3));
            Assert.That(batch.GetTagItem("eventsourcing.position.from"), Is.EqualTo(0L));
            Assert.That(batch.GetTagItem("eventsourcing.position.to"), Is.GreaterThan(0L));
            Assert.That(batch.Recorded, Is.True);
        });
    }

    [Test]
    public virtual async Task Each_instrument_moves_as_documented_on_the_applications_meter([Values] bool async)
    {
        var stream = NewStream();
        var id = Guid.NewGuid();
        await using (var db = CreateTelemetryContext(es => es.SnapshotEvery<Portfolio>(3).UseOutbox(o => o.PublishAll("ledger"))))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            var portfolio = Portfolio.Open(id, "ann");
            portfolio.Buy("ACME", 1, 1m);
            portfolio.Buy("ACME", 1, 1m);
            db.Aggregates<Portfolio>().Add(portfolio); // version 3: snapshot
            await SaveAsync(db, async);
        }

        await using (var db = CreateTelemetryContext())
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(3));
            Assert.That(async () => await SaveAsync(db, async), Throws.InstanceOf<StreamConcurrencyException>());
        }

        await using (var db = CreateTelemetryContext(es => es.SnapshotEvery<Portfolio>(3)))
        {
            await db.Aggregates<Portfolio>().LoadAsync(id);
        }

        await using (var db = CreateTelemetryContext())
        {
            await db.Aggregates<Portfolio>().LoadAsync(id); // no policy now, but the snapshot is still read
            Assert.That(await db.Aggregates<Portfolio>().FindAsync(Guid.NewGuid()), Is.Null);
        }

        await using (var db = CreateTelemetryContext(es => es.AddProjection<TestDbContext>("telemetry-failing", p => p.On<Deposited>((_, _, _) => throw new InvalidOperationException("boom")))))
        {
            Assert.That(() => db.Projections().CatchUpAsync("telemetry-failing"), Throws.InstanceOf<ProjectionFailedException>());
        }

        await using (var db = CreateTelemetryContext(es => es.AddProjection<TestDbContext>("telemetry-dead-letter", p => p
                         .OnError(ProjectionErrorPolicy.DeadLetter)
                         .On<Deposited>((_, _, _) => throw new InvalidOperationException("boom")))))
        {
            await db.Projections().CatchUpAsync("telemetry-dead-letter");
        }

        await using (var db = CreateTelemetryContext(es => es.AddProjection<BalanceProjection>()))
        {
            await db.Projections().CatchUpAsync("balances");
        }

        await using (var db = CreateTelemetryContext(es => es.UseOutbox(o => o.PublishAll("ledger"))))
        {
            await db.Outbox().GetStatsAsync();
            Assert.That(_capture.Measurements("eventsourcing.outbox.pending").Select(m => m.Value), Is.EqualTo(new double[] { 5 }), "the gauge shows the stats just read");
            Assert.That(await db.Outbox().DispatchPendingAsync(new RecordingOutboxPublisher()), Is.EqualTo(5), "2 deposits and the portfolio's 3 events");
        }

        await using (var db = CreateTelemetryContext(es => es.UseOutbox(o => o.PublishAll("audit").MaxAttempts(1))))
        {
            db.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(9));
            await SaveAsync(db, async);
        }

        await using (var db = CreateTelemetryContext(es => es.UseOutbox(o => o.PublishAll("audit").MaxAttempts(1))))
        {
            var refusing = new RecordingOutboxPublisher { Fail = _ => new TimeoutException("broker down") };
            Assert.That(await db.Outbox().DispatchPendingAsync(refusing), Is.Zero);
            Assert.That((await db.Outbox().GetStatsAsync()).DeadLetters, Is.EqualTo(1));
        }

        Assert.Multiple(() =>
        {
            Assert.That(Sum("eventsourcing.saves"), Is.EqualTo(2));
            Assert.That(Sum("eventsourcing.events.appended"), Is.EqualTo(6));
            Assert.That(_capture.Measurements("eventsourcing.conflicts").Single().Tags["eventsourcing.conflict.kind"], Is.EqualTo("version"));
            Assert.That(_capture.Measurements("eventsourcing.save.duration"), Has.Count.EqualTo(3).And.All.Matches<(double Value, Dictionary<string, object?> Tags)>(m => m.Value > 0));
            Assert.That(Sum("eventsourcing.snapshot.hits"), Is.EqualTo(2));
            Assert.That(Sum("eventsourcing.snapshot.misses"), Is.EqualTo(1), "the load of an unknown portfolio");
            Assert.That(_capture.Measurements("eventsourcing.load.events_replayed").Select(m => m.Value), Is.EqualTo(new double[] { 0, 0, 0 }));
            Assert.That(_capture.Measurements("eventsourcing.load.duration"), Has.Count.EqualTo(3));
            var errors = _capture.Measurements("eventsourcing.projection.errors").ToLookup(m => m.Tags["eventsourcing.projection.name"]);
            Assert.That(errors["telemetry-failing"].Single().Tags["error.type"], Is.EqualTo(typeof(InvalidOperationException).FullName), "a failed batch");
            Assert.That(errors["telemetry-dead-letter"].Single().Tags["error.type"], Is.EqualTo("dead_letter"));
            Assert.That(errors["telemetry-dead-letter"].Single().Value, Is.EqualTo(2), "one per dead-lettered deposit");
            var lag = _capture.Measurements("eventsourcing.projection.lag.events").Where(m => Equals(m.Tags["eventsourcing.projection.name"], "balances")).ToList();
            Assert.That(lag.Select(m => m.Value), Is.Not.Empty.And.All.EqualTo(0), "caught up");
            Assert.That(_capture.Measurements("eventsourcing.projection.lag.time"), Is.Not.Empty);
            Assert.That(_capture.Measurements("eventsourcing.read_all.horizon.age"), Is.Not.Empty);
            Assert.That(Sum("eventsourcing.outbox.published"), Is.EqualTo(5));
            var publishes = _capture.Measurements("eventsourcing.outbox.publish.duration");
            Assert.That(publishes.Select(m => m.Tags["messaging.destination.name"]), Is.EqualTo(Enumerable.Repeat("ledger", 5).Append("audit")));
            Assert.That(publishes[^1].Tags["error.type"], Is.EqualTo(typeof(TimeoutException).FullName));
            Assert.That(_capture.Measurements("eventsourcing.outbox.failed").Single().Tags["messaging.destination.name"], Is.EqualTo("audit"));
            Assert.That(Sum("eventsourcing.outbox.dead_lettered"), Is.EqualTo(1));
            Assert.That(_capture.Measurements("eventsourcing.outbox.dead_letters").Select(m => m.Value).Last(), Is.EqualTo(1));
            Assert.That(_capture.Measurements("eventsourcing.outbox.pending").Select(m => m.Value).Last(), Is.Zero, "the last stats read: nothing pending");
        });
    }

    [Test]
    public virtual async Task The_projection_lag_gauges_show_the_events_and_seconds_behind_and_drop_to_zero_after_catch_up([Values] bool async)
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var clock = new ManualClock();
        const string Lag = "eventsourcing.projection.lag.events", LagTime = "eventsourcing.projection.lag.time";
        await using var db = CreateTelemetryContext(es => es.UseTimeProvider(clock).AddProjection<BalanceProjection>());
        Assert.That(await db.Projections().CatchUpAsync("balances"), Is.Zero);
        Assert.That(_capture.LastOf(Lag, "balances").Value, Is.Zero, "an empty store: nothing behind");

        // N deposits over a few saves, the clock moving between them; other event types are not counted.
        var expected = 0;
        var first = clock.GetUtcNow();
        for (var save = random.Next(1, 5); save > 0; save--)
        {
            var count = random.Next(1, 40);
            expected += count;
            db.Events().Append(NewStream(), ExpectedVersion.NoStream, Enumerable.Range(1, count).Select(i => (object)new Deposited(i)).ToArray());
            db.Events().Append(NewStream("customer"), ExpectedVersion.NoStream, new Renamed("c"));
            await SaveAsync(db, async);
            clock.Advance(TimeSpan.FromSeconds(random.Next(1, 600)));
        }

        var behind = (clock.GetUtcNow() - first).TotalSeconds;
        Assert.That(_capture.LastOf(Lag, "balances").Value, Is.Zero, "the gauges show the last lag read, not a live count");

        var read = await db.Projections().GetLagAsync("balances"); // what the projections health check calls
        Assert.That(read.EventsBehind, Is.EqualTo(expected));
        var events = _capture.LastOf(Lag, "balances");
        var seconds = _capture.LastOf(LagTime, "balances");
        Assert.Multiple(() =>
        {
            Assert.That(events.Value, Is.EqualTo(expected), "events behind");
            Assert.That(seconds.Value, Is.EqualTo(behind).And.GreaterThan(0), "age of the oldest unapplied deposit, from the stored timestamps");
            Assert.That(events.Tags, Is.EquivalentTo(new Dictionary<string, object?> { ["eventsourcing.projection.name"] = "balances" }));
            Assert.That(seconds.Tags, Is.EquivalentTo(new Dictionary<string, object?> { ["eventsourcing.projection.name"] = "balances" }));
            Assert.That(_capture.Instrument(Lag).Unit, Is.EqualTo("{event}"));
            Assert.That(_capture.Instrument(LagTime).Unit, Is.EqualTo("s"));
        });

        Assert.That(await db.Projections().CatchUpAsync("balances"), Is.EqualTo(expected));
        Assert.Multiple(() =>
        {
            Assert.That(_capture.LastOf(Lag, "balances").Value, Is.Zero, "caught up: the batch reports the lag after it");
            Assert.That(_capture.LastOf(LagTime, "balances").Value, Is.Zero);
            Assert.That(_capture.LastOf("eventsourcing.read_all.horizon.age", "balances").Value, Is.Zero, "nothing holds read-all back");
        });
    }

    private double Sum(string instrument) => _capture.Measurements(instrument).Sum(m => m.Value);

    private sealed class NoOpSaveChangesInterceptor : Microsoft.EntityFrameworkCore.Diagnostics.SaveChangesInterceptor;

    private TestDbContext CreateTelemetryContext(Action<EventSourcingDbContextOptionsBuilder>? configure = null)
        => new(new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions(configure)).UseApplicationServiceProvider(_capture.Services).Options);
}
