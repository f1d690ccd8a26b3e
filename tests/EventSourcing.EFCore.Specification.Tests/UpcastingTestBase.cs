using System.Text.Json;
using System.Text.Json.Nodes;
using EventSourcing.EFCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;
using static EventSourcing.EFCore.Specification.Tests.ParcelReleases;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Event schema evolution (issue 17): rows written by earlier releases of the application (contexts configured as those
/// releases, on the same database) read back as the current types on every read path: read stream, read-all,
/// aggregate load (full, at a version, as of a time, snapshot + tail), live folds, catch-up projections, the outbox.
/// </summary>
public abstract class UpcastingTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    // ---------------------------------------------------------------- the history every test reads

    /// <summary>
    /// Writes one parcel's history through three releases: release 1 (v1 shipped with metadata "corr", a label under the
    /// old name, a weighing), release 2 (v2 shipped), release 3 (v3 shipped). Stream versions 1..5.
    /// </summary>
    private async Task<Guid> SeedHistoryAsync(bool async, Action<EventSourcingDbContextOptionsBuilder>? alsoRelease1 = null)
    {
        var id = Guid.NewGuid();
        var stream = StreamId.For<Parcel>(id);
        await using (var db = CreateContext(es =>
        {
            Release1(es);
            alsoRelease1?.Invoke(es);
        }))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, Release1History(id));
            await SaveAsync(db, async);
        }

        await using (var db = CreateContext(Release2))
        {
            db.Events().Append(stream, ExpectedVersion.Exactly(3), new ParcelShippedV2(id, "2 Middle Street", 2250));
            await SaveAsync(db, async);
        }

        await using (var db = CreateContext(Release3))
        {
            db.Events().Append(stream, ExpectedVersion.Exactly(4), new ParcelShipped(id, "3 New Avenue", 0.75m, "postal"));
            await SaveAsync(db, async);
        }

        return id;
    }

    /// <summary>What release 1 wrote: a v1 shipment with metadata "corr", a label under the old name, a weighing.</summary>
    private static object[] Release1History(Guid id) =>
    [
        new EventData(new ParcelShippedV1(id, "1 Old Road", 1500)) { Metadata = new Dictionary<string, string> { ["corr"] = "c-1" } },
        new ParcelLabelled(id, "fragile"),
        new ParcelWeighed(id, 1490),
    ];

    private static void AssertHistory(IReadOnlyList<RecordedEvent> events, Guid id)
    {
        Assert.That(events.Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3, 4, 5 }));

        Assert.That(events[0].Data, Is.EqualTo(new ParcelShipped(id, "1 Old Road", 1.5m, "unknown")), "v1 → typed → v2 → JSON → v3");
        Assert.That((events[0].EventType, events[0].EventTypeVersion, events[0].ReceivedEventTypeVersion, events[0].IsUpcast), Is.EqualTo((Shipped, 1, 3, true)));
        Assert.That(events[0].Metadata, Is.EquivalentTo(new Dictionary<string, string> { ["correlation-id"] = "c-1" }), "metadata key renamed");

        Assert.That(events[1].Data, Is.EqualTo(new ParcelLabelled(id, "fragile")));
        Assert.That((events[1].EventType, events[1].StoredEventType, events[1].EventTypeVersion, events[1].IsUpcast), Is.EqualTo((Labelled, LabelledOld, 1, false)), "read through the alias");

        Assert.That(events[2].IsObsolete, Is.True);
        var obsolete = (ObsoleteEvent)events[2].Data;
        Assert.That((obsolete.EventType, obsolete.Version, events[2].EventType), Is.EqualTo((Weighed, 1, Weighed)));
        Assert.That(JsonNode.Parse(obsolete.Json)!["grams"]!.GetValue<int>(), Is.EqualTo(1490), "the stored JSON, for tools");

        Assert.That(events[3].Data, Is.EqualTo(new ParcelShipped(id, "2 Middle Street", 2.25m, "unknown")), "v2 → JSON → v3");
        Assert.That((events[3].EventTypeVersion, events[3].ReceivedEventTypeVersion), Is.EqualTo((2, 3)));

        Assert.That(events[4].Data, Is.EqualTo(new ParcelShipped(id, "3 New Avenue", 0.75m, "postal")));
        Assert.That((events[4].EventTypeVersion, events[4].ReceivedEventTypeVersion, events[4].IsUpcast), Is.EqualTo((3, 3, false)));
    }

    private const string FinalState = "|3 New Avenue|4.5|postal|3|fragile|v5";

    // ---------------------------------------------------------------- read stream, read-all, live fold

    [Test]
    public virtual async Task Read_stream_returns_the_events_of_every_earlier_release_as_the_current_types([Values] bool async)
    {
        var id = await SeedHistoryAsync(async);
        await using var db = CreateContext(Release3);
        AssertHistory(await ToListAsync(db.Events().ReadStreamAsync(StreamId.For<Parcel>(id))), id);
    }

    [Test]
    public virtual async Task Read_all_returns_them_upcast_in_commit_order_and_reports_obsolete_events([Values] bool async)
    {
        var id = await SeedHistoryAsync(async);
        await using var db = CreateContext(Release3);
        var all = await ToListAsync(db.Events().ReadAllAsync(GlobalCheckpoint.Start));
        AssertHistory(all.Where(e => e.StreamId == StreamId.For<Parcel>(id)).ToList(), id);
    }

    [Test]
    public virtual async Task Live_fold_folds_upcast_events_and_skips_obsolete_ones()
    {
        var id = await SeedHistoryAsync(async: true);
        await using var db = CreateContext(Release3);
        var (count, kg) = await db.Events().AggregateStreamAsync(
            StreamId.For<Parcel>(id), (Count: 0, Kg: 0m), (s, e) => (s.Count + 1, s.Kg + (e.Data is ParcelShipped p ? p.WeightKg : 0)));
        Assert.That((count, kg), Is.EqualTo((4, 4.5m)));
    }

    // ---------------------------------------------------------------- aggregates

    [Test]
    public virtual async Task Aggregate_load_replays_upcast_events_skips_obsolete_ones_and_keeps_their_version([Values] bool async)
    {
        var id = await SeedHistoryAsync(async);
        var log = new List<(Microsoft.Extensions.Logging.EventId Id, string Message)>();
        await using (var db = CreateLoggingContext(log, Release3))
        {
            var parcel = await db.Aggregates<Parcel>().LoadAsync(id);
            Assert.That(parcel.Describe(), Is.EqualTo(id + FinalState));
            Assert.That(parcel.AppliedSinceLoad, Is.EqualTo(4), "the obsolete event was skipped, not applied");
            Assert.That(
                log.Where(l => l.Id == EventSourcingEventId.ObsoleteEventRead).Select(l => l.Message),
                Is.EqualTo(new[] { $"Event {StreamId.For<Parcel>(id)}@3 has type {Weighed} (version 1), declared obsolete: aggregates, projections and live folds skip it; read stream and read-all return it as an ObsoleteEvent." }),
                "the skip is logged");

            parcel.Ship("4 Last Lane", 1m, "courier");
            await SaveAsync(db, async); // expects version 5: the obsolete event counted
        }

        var stored = await ReadStreamAsync(StreamId.For<Parcel>(id), Release3);
        Assert.That(stored[^1].Version, Is.EqualTo(6));
    }

    [Test]
    public virtual async Task Point_in_time_loads_upcast_by_version_and_by_time()
    {
        var id = await SeedHistoryAsync(async: true);
        var events = await ReadStreamAsync(StreamId.For<Parcel>(id), Release3);
        await using var db = CreateContext(Release3);
        var atTwo = await db.Aggregates<Parcel>().LoadAsync(id, atVersion: 2);
        Assert.That(atTwo.Describe(), Is.EqualTo($"{id}|1 Old Road|1.5|unknown|1|fragile|v2"));
        var atThree = await db.Aggregates<Parcel>().LoadAsync(id, atVersion: 3);
        Assert.That(atThree.Describe(), Is.EqualTo($"{id}|1 Old Road|1.5|unknown|1|fragile|v3"), "the obsolete event moves the version only");
        var asOf = await db.Aggregates<Parcel>().LoadAsOfAsync(id, events[3].Timestamp);
        Assert.That(asOf.Shipments, Is.EqualTo(2));
        Assert.That(asOf.WeightKg, Is.EqualTo(3.75m));
    }

    [Test]
    public virtual async Task A_snapshot_stays_valid_and_its_tail_of_older_versions_is_upcast([Values] bool async)
    {
        var id = Guid.NewGuid();
        var stream = StreamId.For<Parcel>(id);
        await using (var db = CreateContext(Release1))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new ParcelShippedV1(id, "1 Old Road", 1500), new ParcelLabelled(id, "fragile"));
            await SaveAsync(db, async);
        }

        // Release 3 takes the snapshot; releases 1 and 2 (still running) append after it.
        await using (var db = CreateContext(Release3))
        {
            Assert.That(await db.Aggregates<Parcel>().SnapshotAsync(id), Is.EqualTo(2));
        }

        await using (var db = CreateContext(Release1))
        {
            db.Events().Append(stream, ExpectedVersion.Exactly(2), new ParcelShippedV1(id, "5 Late Road", 500), new ParcelWeighed(id, 499));
            await SaveAsync(db, async);
        }

        await using (var db = CreateContext(Release2))
        {
            db.Events().Append(stream, ExpectedVersion.Exactly(4), new ParcelShippedV2(id, "6 Later Road", 250));
            await SaveAsync(db, async);
        }

        // Read by a release whose upcasting options changed again (one more metadata key rename): the snapshot stays valid.
        var log = new List<(Microsoft.Extensions.Logging.EventId Id, string Message)>();
        await using (var db = CreateLoggingContext(log, es => Release3(es.RenameMetadataKey("tenant", "tenant-id"))))
        {
            var parcel = await db.Aggregates<Parcel>().LoadAsync(id);
            Assert.That(parcel.AppliedSinceLoad, Is.EqualTo(2), "state from the snapshot, then the two upcast shipments of the tail");
            Assert.That(parcel.Describe(), Is.EqualTo($"{id}|6 Later Road|2.25|unknown|3|fragile|v5"));
            Assert.That(log.Select(l => l.Id), Does.Not.Contain(EventSourcingEventId.SnapshotIgnored));
        }
    }

    // ---------------------------------------------------------------- projections

    [Test]
    public virtual async Task Catch_up_projection_applies_upcast_events_and_skips_obsolete_ones_even_with_a_handler_of_object()
    {
        var id = await SeedHistoryAsync(async: true);
        void Configure(EventSourcingDbContextOptionsBuilder es)
        {
            Release3(es);
            es.AddProjection(new ParcelWeightsProjection());
        }

        await using (var db = CreateContext(Configure))
        {
            // CatchUpAsync counts the events the projection reads: the four it handles, not the obsolete one it skips.
            Assert.That(await db.Projections().CatchUpAsync("parcel-weights"), Is.EqualTo(4));
        }

        await AssertWeightsAsync(Configure, id);

        await using (var db = CreateContext(Configure))
        {
            await db.Projections().RebuildAsync("parcel-weights");
        }

        await AssertWeightsAsync(Configure, id);
    }

    private async Task AssertWeightsAsync(Action<EventSourcingDbContextOptionsBuilder> configure, Guid id)
    {
        await using var db = CreateContext(configure);
        var row = await db.Set<AccountBalance>().AsNoTracking().SingleAsync(b => b.Projection == "parcel-weights");
        Assert.That((row.Stream, row.Balance, row.Operations, row.Version), Is.EqualTo((StreamId.For<Parcel>(id).ToString(), 4.5m, 4, 5L)));
    }

    // ---------------------------------------------------------------- outbox

    [Test]
    public virtual async Task Outbox_publishes_messages_staged_by_an_earlier_release_as_the_current_version([Values] bool async)
    {
        var id = Guid.NewGuid();
        var stream = StreamId.For<Parcel>(id);
        await using (var db = CreateContext(es => Release1(es.UseOutbox(o => o.PublishAll("parcels")))))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, Release1History(id));
            await SaveAsync(db, async);
        }

        var publisher = new RecordingPublisher();
        await using (var db = CreateContext(es => Release3(es.UseOutbox(o => o.PublishAll("parcels")))))
        {
            Assert.That(await db.Outbox().DispatchPendingAsync(publisher), Is.EqualTo(3));
        }

        var messages = publisher.Published.OrderBy(m => m.Headers[OutboxHeaders.Version]).ToList();
        Assert.That(JsonSerializer.Deserialize<ParcelShipped>(messages[0].Payload, Web), Is.EqualTo(new ParcelShipped(id, "1 Old Road", 1.5m, "unknown")));
        Assert.That(messages[0].EventType, Is.EqualTo(Shipped));
        Assert.That(messages[0].Headers[OutboxHeaders.EventTypeVersion], Is.EqualTo("3"));
        Assert.That(messages[0].Headers[OutboxHeaders.StoredEventTypeVersion], Is.EqualTo("1"));
        Assert.That(messages[0].Headers["correlation-id"], Is.EqualTo("c-1"));
        Assert.That(messages[0].Headers.ContainsKey("corr"), Is.False);

        Assert.That((messages[1].EventType, messages[1].Headers[OutboxHeaders.EventType]), Is.EqualTo((Labelled, Labelled)), "read through the alias");
        Assert.That(JsonSerializer.Deserialize<ParcelLabelled>(messages[1].Payload, Web), Is.EqualTo(new ParcelLabelled(id, "fragile")));

        Assert.That((messages[2].EventType, messages[2].Headers[OutboxHeaders.EventTypeVersion]), Is.EqualTo((Weighed, "1")), "obsolete: published as stored");
        Assert.That(JsonNode.Parse(messages[2].Payload)!["grams"]!.GetValue<int>(), Is.EqualTo(1490));
        Assert.That(messages[2].Headers.ContainsKey(OutboxHeaders.StoredEventTypeVersion), Is.False);
    }

    // ---------------------------------------------------------------- failures

    [Test]
    public virtual async Task Appending_an_older_version_type_fails_before_anything_is_written([Values] bool async)
    {
        var id = Guid.NewGuid();
        await using (var db = CreateContext(Release3))
        {
            var ex = Assert.Throws<EventValidationException>(
                () => db.Events().Append(StreamId.For<Parcel>(id), ExpectedVersion.NoStream, new ParcelShippedV1(id, "1 Old Road", 1)));
            Assert.That(ex!.Message, Does.Contain(typeof(ParcelShippedV1).FullName!).And.Contain("version 1").And.Contain("current version 3").And.Contain(nameof(ParcelShipped)));
            Assert.That(await SaveAsync(db, async), Is.Zero);
        }

        Assert.That(await ReadStreamAsync(StreamId.For<Parcel>(id), Release3), Is.Empty);
    }

    [Test]
    public virtual async Task A_failing_upcaster_fails_the_read_naming_the_step_and_the_event()
    {
        var id = await SeedHistoryAsync(async: true);
        var broken = new FormatException("weightGrams is not a number");
        void Configure(EventSourcingDbContextOptionsBuilder es) => Release3With(es, _ => throw broken);

        await using var db = CreateContext(Configure);
        var read = Assert.ThrowsAsync<EventUpcastException>(async () => await ToListAsync(db.Events().ReadStreamAsync(StreamId.For<Parcel>(id))));
        var load = Assert.ThrowsAsync<EventUpcastException>(async () => await db.Aggregates<Parcel>().LoadAsync(id));
        foreach (var ex in new[] { read!, load! })
        {
            Assert.That((ex.EventType, ex.FromVersion, ex.ToVersion, ex.StreamVersion, ex.StreamId), Is.EqualTo((Shipped, 2, 3, 1L, StreamId.For<Parcel>(id))));
            Assert.That(ex.InnerException, Is.SameAs(broken));
            Assert.That(ex.Message, Does.Contain(Shipped).And.Contain("version 2 to version 3").And.Contain(broken.Message));
        }
    }

    [Test]
    public virtual async Task An_outbox_row_that_an_upcaster_fails_on_is_a_failed_attempt_naming_the_step()
    {
        var id = Guid.NewGuid();
        await using (var db = CreateContext(es => Release1(es.UseOutbox(o => o.PublishAll("parcels")))))
        {
            db.Events().Append(StreamId.For<Parcel>(id), ExpectedVersion.NoStream, new ParcelShippedV1(id, "1 Old Road", 1500));
            await db.SaveChangesAsync();
        }

        var publisher = new RecordingPublisher();
        void Configure(EventSourcingDbContextOptionsBuilder es)
            => Release3With(es.UseOutbox(o => o.PublishAll("parcels").MaxAttempts(1)), _ => throw new FormatException("weightGrams is not a number"));
        await using (var db = CreateContext(Configure))
        {
            Assert.That(await db.Outbox().DispatchPendingAsync(publisher), Is.Zero);
            Assert.That((await db.Outbox().GetStatsAsync()).DeadLetters, Is.EqualTo(1), "dead-lettered after its one attempt, not skipped");
            var row = await db.Set<Storage.StoredOutboxMessage>().AsNoTracking().SingleAsync();
            Assert.That(row.LastError, Does.Contain(nameof(EventUpcastException)).And.Contain("from version 2 to version 3").And.Contain("weightGrams is not a number"));
        }

        Assert.That(publisher.Calls, Is.Zero, "never handed to the publisher");
    }

    [Test]
    public virtual async Task A_version_written_by_a_newer_release_fails_with_EventDeserializationException_naming_it()
    {
        var id = await SeedHistoryAsync(async: true);
        await using var db = CreateContext(Release2);
        var read = Assert.ThrowsAsync<EventDeserializationException>(async () => await ToListAsync(db.Events().ReadStreamAsync(StreamId.For<Parcel>(id))));
        Assert.That((read!.StreamId, read.EventType), Is.EqualTo((StreamId.For<Parcel>(id), Shipped)));
        var ex = read.InnerException as UnknownEventTypeException;
        Assert.That(ex, Is.Not.Null, "the cause is the unknown version");
        Assert.That((ex!.EventType, ex.Version), Is.EqualTo((Shipped, 3)));
        Assert.That(ex.Message, Does.Contain(Shipped).And.Contain("version 3"));
    }

    // ---------------------------------------------------------------- property: random schema evolution

    [Test]
    public virtual async Task Random_field_renames_additions_and_removals_read_back_as_the_intended_current_value([Values] bool async)
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        for (var schema = 0; schema < 12; schema++)
        {
            var evolution = SchemaEvolution.Random(random);
            var stream = new StreamId("bag", Guid.NewGuid().ToString("N"));
            var written = Enumerable.Range(0, random.Next(1, 4)).Select(_ => evolution.RandomFirstVersionValue(random)).ToList();
            await using (var db = CreateContext(es => es.MapEvent<FieldBag>("upcast.bag", 1)))
            {
                db.Events().Append(stream, ExpectedVersion.NoStream, written.Select(v => (object)new FieldBag { Fields = ToElements(v) }));
                await SaveAsync(db, async);
            }

            await using (var db = CreateContext(evolution.Configure))
            {
                var read = await ToListAsync(db.Events().ReadStreamAsync(stream));
                for (var i = 0; i < written.Count; i++)
                {
                    var expected = evolution.Expected(written[i]);
                    var actual = ((FieldBag)read[i].Data).Fields.ToDictionary(f => f.Key, f => f.Value.GetRawText());
                    Assert.That(actual, Is.EquivalentTo(expected.ToDictionary(f => f.Key, f => JsonSerializer.Serialize(f.Value))),
                        $"seed {seed}, schema {schema}: {evolution}, event {i} written as {JsonSerializer.Serialize(written[i])}");
                    Assert.That((read[i].EventTypeVersion, read[i].ReceivedEventTypeVersion), Is.EqualTo((1, evolution.CurrentVersion)));
                }
            }
        }
    }

    private TestDbContext CreateLoggingContext(List<(Microsoft.Extensions.Logging.EventId Id, string Message)> log, Action<EventSourcingDbContextOptionsBuilder> release)
    {
        var builder = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions(release));
        builder.UseLoggerFactory(new CapturingLoggerFactory(log));
        return new TestDbContext(builder.Options);
    }

    private static Dictionary<string, JsonElement> ToElements(Dictionary<string, object> values)
        => values.ToDictionary(v => v.Key, v => JsonSerializer.SerializeToElement(v.Value));

    private async Task<List<RecordedEvent>> ReadStreamAsync(StreamId stream, Action<EventSourcingDbContextOptionsBuilder> release)
    {
        await using var db = CreateContext(release);
        return await ToListAsync(db.Events().ReadStreamAsync(stream));
    }

    /// <summary>
    /// A random history of one event type: version 1 has random fields; each later version renames, adds (with a
    /// default) or removes fields. The upcasters change JSON objects; <see cref="Expected"/> applies the same changes
    /// to a plain dictionary, independently.
    /// </summary>
    private sealed class SchemaEvolution
    {
        private readonly List<string> _firstFields = [];
        private readonly List<List<(string Op, string Field, string? Other, object? Default)>> _steps = [];

        public int CurrentVersion => _steps.Count + 1;

        public static SchemaEvolution Random(Random random)
        {
            var evolution = new SchemaEvolution();
            var next = 0;
            var fields = new List<string>();
            for (var i = random.Next(1, 5); i > 0; i--)
            {
                fields.Add("f" + next++);
            }

            evolution._firstFields.AddRange(fields);
            for (var version = random.Next(1, 5); version > 0; version--)
            {
                var step = new List<(string, string, string?, object?)>();
                for (var ops = random.Next(1, 4); ops > 0; ops--)
                {
                    var kind = fields.Count == 0 ? 1 : random.Next(3);
                    if (kind == 0)
                    {
                        var field = fields[random.Next(fields.Count)];
                        var renamed = "f" + next++;
                        fields[fields.IndexOf(field)] = renamed;
                        step.Add(("rename", field, renamed, null));
                    }
                    else if (kind == 1)
                    {
                        var added = "f" + next++;
                        fields.Add(added);
                        step.Add(("add", added, null, random.Next(2) == 0 ? random.Next(-1000, 1000) : "d" + random.Next(100)));
                    }
                    else
                    {
                        var field = fields[random.Next(fields.Count)];
                        fields.Remove(field);
                        step.Add(("remove", field, null, null));
                    }
                }

                evolution._steps.Add(step);
            }

            return evolution;
        }

        public Dictionary<string, object> RandomFirstVersionValue(Random random)
            => _firstFields.ToDictionary(f => f, f => random.Next(2) == 0 ? (object)random.Next() : "v" + random.Next(1_000_000));

        public void Configure(EventSourcingDbContextOptionsBuilder es)
        {
            es.MapEvent<FieldBag>("upcast.bag", CurrentVersion);
            for (var i = 0; i < _steps.Count; i++)
            {
                var step = _steps[i];
                es.Upcast("upcast.bag", i + 1, i + 2, json =>
                {
                    var o = json.AsObject();
                    foreach (var (op, field, other, value) in step)
                    {
                        switch (op)
                        {
                            case "rename":
                                var node = o[field];
                                o.Remove(field);
                                o[other!] = node;
                                break;
                            case "add":
                                o[field] = JsonSerializer.SerializeToNode(value);
                                break;
                            default:
                                o.Remove(field);
                                break;
                        }
                    }

                    return o;
                });
            }
        }

        public Dictionary<string, object> Expected(Dictionary<string, object> first)
        {
            var value = new Dictionary<string, object>(first);
            foreach (var step in _steps)
            {
                foreach (var (op, field, other, added) in step)
                {
                    if (op == "rename")
                    {
                        value[other!] = value[field];
                        value.Remove(field);
                    }
                    else if (op == "add")
                    {
                        value[field] = added!;
                    }
                    else
                    {
                        value.Remove(field);
                    }
                }
            }

            return value;
        }

        public override string ToString()
            => $"v1 [{string.Join(", ", _firstFields)}] " + string.Join(" ", _steps.Select((s, i) => $"v{i + 2} [{string.Join(", ", s.Select(o => $"{o.Op} {o.Field}{(o.Other is null ? "" : " → " + o.Other)}"))}]"));
    }
}
