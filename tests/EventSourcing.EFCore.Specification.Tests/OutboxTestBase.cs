using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// The transactional outbox: rows written in the event's SaveChanges (and only if it commits), routed by type, predicate
/// or all with destinations and headers, dispatched after commit with retries, backoff, dead letters and requeue, in
/// per-stream order by default, cleaned up after the retention, and run by the hosted dispatcher. User transactions and
/// concurrent dispatchers are covered by PostgreSQL-only tests (EF InMemory has no transactions).
/// </summary>
public abstract class OutboxTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    protected TestDbContext CreateOutboxContext(Action<OutboxOptionsBuilder>? outbox = null, TimeProvider? clock = null)
        => CreateContext(es =>
        {
            es.UseOutbox(outbox ?? (o => o.PublishAll("events")));
            if (clock is not null)
            {
                es.UseTimeProvider(clock);
            }
        });

    protected async Task<int> DispatchAsync(IOutboxPublisher publisher, Action<OutboxOptionsBuilder>? outbox = null, TimeProvider? clock = null)
    {
        await using var db = CreateOutboxContext(outbox, clock);
        return await db.Outbox().DispatchPendingAsync(publisher);
    }

    protected async Task<OutboxStats> StatsAsync(TimeProvider? clock = null)
    {
        await using var db = CreateOutboxContext(clock: clock);
        return await db.Outbox().GetStatsAsync();
    }

    protected async Task<List<StoredOutboxMessage>> RowsAsync()
    {
        await using var db = CreateContext();
        return await db.Set<StoredOutboxMessage>().AsNoTracking().OrderBy(o => o.Id).ToListAsync();
    }

    [Test]
    public virtual async Task A_routed_event_gets_an_outbox_row_in_its_SaveChanges_and_is_published_once_with_its_headers([Values] bool async)
    {
        var stream = NewStream();
        var eventId = Guid.CreateVersion7();
        var metadata = new Dictionary<string, string> { ["correlation-id"] = "corr-1", ["causation-id"] = "cause-1" };
        await using (var db = CreateOutboxContext())
        {
            db.Customers.Add(new Customer { Name = "Ada", Email = Guid.NewGuid() + "@example.com" });
            db.Events().Append(stream, ExpectedVersion.NoStream, new EventData(new Deposited(10)) { EventId = eventId, Metadata = metadata });
            await SaveAsync(db, async);
        }

        var rows = await RowsAsync();
        Assert.That(rows, Has.Count.EqualTo(1));
        Assert.That(rows[0].EventId, Is.EqualTo(eventId));
        Assert.That(rows[0].DispatchedAt, Is.Null);
        Assert.That((await StatsAsync()).Pending, Is.EqualTo(1));

        var publisher = new RecordingPublisher();
        Assert.That(await DispatchAsync(publisher), Is.EqualTo(1));
        Assert.That(await DispatchAsync(publisher), Is.Zero, "a dispatched message is not published again");

        var message = publisher.Published.Single();
        var stored = (await ReadStreamAsync(stream)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(message.MessageId, Is.EqualTo(eventId));
            Assert.That(message.Destination, Is.EqualTo("events"));
            Assert.That(message.EventType, Is.EqualTo("test.deposited"));
            Assert.That(message.Payload, Does.Contain("\"amount\"").And.Contain("10"));
            Assert.That(message.Attempt, Is.EqualTo(1));
            Assert.That(message.StreamId, Is.EqualTo(stream));
            Assert.That(message.Headers[OutboxHeaders.StreamType], Is.EqualTo(stream.Type));
            Assert.That(message.Headers[OutboxHeaders.StreamId], Is.EqualTo(stream.Id));
            Assert.That(message.Headers[OutboxHeaders.Version], Is.EqualTo("1"));
            Assert.That(message.Headers[OutboxHeaders.GlobalPosition], Is.EqualTo(stored.GlobalPosition.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(message.Headers[OutboxHeaders.EventType], Is.EqualTo("test.deposited"));
            Assert.That(message.Headers[OutboxHeaders.EventId], Is.EqualTo(eventId.ToString()));
            Assert.That(message.Headers["correlation-id"], Is.EqualTo("corr-1"));
            Assert.That(message.Headers["causation-id"], Is.EqualTo("cause-1"));
        });

        var stats = await StatsAsync();
        Assert.That(stats, Is.EqualTo(new OutboxStats(0, 0, null, 0)));
        Assert.That((await RowsAsync()).Single().DispatchedAt, Is.Not.Null);
    }

    [Test]
    public virtual async Task Routes_select_by_event_type_by_predicate_or_all_each_with_its_destination_and_headers()
    {
        var stream = NewStream();
        Action<OutboxOptionsBuilder> routes = o => o
            .Publish<Deposited>("deposits", (e, h) => h["amount"] = ((Deposited)e.Data).Amount.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Publish(e => e.EventType == "test.withdrawn", "withdrawals")
            .PublishAll("audit")
            .PublishAll("audit", (_, h) => h["ignored"] = "second route of the same destination");
        await using (var db = CreateOutboxContext(routes))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(5), new Withdrawn(2, "fee"), new Renamed("x"));
            await db.SaveChangesAsync();
        }

        var publisher = new RecordingPublisher();
        Assert.That(await DispatchAsync(publisher, routes), Is.EqualTo(5));
        var byDestination = publisher.Published.GroupBy(m => m.Destination).ToDictionary(g => g.Key, g => g.Select(m => m.EventType).ToList());
        Assert.That(byDestination["deposits"], Is.EqualTo(new[] { "test.deposited" }));
        Assert.That(byDestination["withdrawals"], Is.EqualTo(new[] { "test.withdrawn" }));
        Assert.That(byDestination["audit"], Is.EqualTo(new[] { "test.deposited", "test.withdrawn", "test.renamed" }));
        Assert.That(publisher.Published.Single(m => m.Destination == "deposits").Headers["amount"], Is.EqualTo("5"));
        Assert.That(publisher.Published.Where(m => m.Destination == "audit").Select(m => m.Headers.ContainsKey("ignored")), Is.All.False);
        Assert.That(publisher.Published.Where(m => m.Destination == "audit").Select(m => m.Headers[OutboxHeaders.Version]), Is.EqualTo(new[] { "1", "2", "3" }));
    }

    [Test]
    public virtual async Task Events_of_aggregates_are_routed_like_appended_events([Values] bool async)
    {
        var id = Guid.NewGuid();
        await using (var db = CreateOutboxContext(o => o.Publish<Deposited>("deposits")))
        {
            var account = BankAccount.Open(id, "Ada");
            account.Deposit(3);
            db.Aggregates<BankAccount>().Add(account);
            await SaveAsync(db, async);
        }

        var publisher = new RecordingPublisher();
        Assert.That(await DispatchAsync(publisher), Is.EqualTo(1));
        Assert.That(publisher.Published.Single().StreamId, Is.EqualTo(StreamId.For<BankAccount>(id)));
        Assert.That(publisher.Published.Single().Headers[OutboxHeaders.Version], Is.EqualTo("2"));
    }

    [Test]
    public virtual async Task A_save_rejected_by_a_conflict_writes_no_outbox_row([Values] bool async)
    {
        var stream = NewStream();
        await SeedAsync(stream, 1);
        await using (var db = CreateOutboxContext())
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(2));
            Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
        }

        Assert.That(await RowsAsync(), Is.Empty);
        Assert.That(await DispatchAsync(new RecordingPublisher()), Is.Zero);
    }

    [Test]
    public virtual async Task A_failed_save_keeps_nothing_and_its_retry_writes_each_event_and_message_once([Values] bool async)
    {
        var stream = NewStream();
        var calls = 0;
        Action<OutboxOptionsBuilder> flaky = o => o.Publish(
            _ => Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("route failed once") : true,
            "events");
        await using (var db = CreateOutboxContext(flaky))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            Assert.ThrowsAsync<InvalidOperationException>(() => SaveAsync(db, async));
            Assert.That(await ReadStreamAsync(stream), Is.Empty);
            Assert.That(await RowsAsync(), Is.Empty);

            await SaveAsync(db, async); // the batch stayed staged, like EF's own tracked changes
        }

        Assert.That((await ReadStreamAsync(stream)).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
        var rows = await RowsAsync();
        Assert.That(rows.Select(r => r.StreamVersion), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(rows.Select(r => r.EventId).Distinct().Count(), Is.EqualTo(2));
    }

    [Test]
    public virtual async Task A_failing_message_is_retried_then_dead_lettered_with_its_last_error_and_RequeueAsync_puts_it_back()
    {
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").MaxAttempts(3).RetryBackoff(TimeSpan.Zero, TimeSpan.Zero);
        var stream = NewStream();
        var ids = await SeedOutboxAsync(stream, policy, 1);
        var attempts = new List<int>();
        var failing = new RecordingPublisher { Fail = m => { attempts.Add(m.Attempt); return new TimeoutException("broker down, attempt " + m.Attempt); } };

        Assert.That(await DispatchAsync(failing, policy), Is.Zero);
        Assert.That(attempts, Is.EqualTo(new[] { 1, 2, 3 }), "retried due at once (zero backoff), up to MaxAttempts");
        var row = (await RowsAsync()).Single();
        Assert.That(row.DeadLetteredAt, Is.Not.Null);
        Assert.That(row.Attempts, Is.EqualTo(3));
        Assert.That(row.LastError, Does.Contain("TimeoutException").And.Contain("attempt 3"));
        Assert.That(await StatsAsync(), Is.EqualTo(new OutboxStats(0, 0, null, 1)));

        Assert.That(await DispatchAsync(failing, policy), Is.Zero);
        Assert.That(attempts, Has.Count.EqualTo(3), "a dead letter is not dispatched");

        await using (var db = CreateOutboxContext(policy))
        {
            Assert.That(await db.Outbox().RequeueAsync(Guid.NewGuid()), Is.Zero, "not a dead letter");
            Assert.That(await db.Outbox().RequeueAsync(ids[0]), Is.EqualTo(1));
        }

        var stats = await StatsAsync();
        Assert.That((stats.Pending, stats.DeadLetters), Is.EqualTo((1L, 0L)));
        var healthy = new RecordingPublisher();
        Assert.That(await DispatchAsync(healthy, policy), Is.EqualTo(1));
        Assert.That(healthy.Published.Single().MessageId, Is.EqualTo(ids[0]));
        Assert.That(healthy.Published.Single().Attempt, Is.EqualTo(1), "a requeued message starts a fresh set of attempts");
    }

    [Test]
    public virtual async Task A_failed_message_waits_for_its_backoff_and_holds_back_the_rest_of_its_stream_only()
    {
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").RetryBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        var slow = NewStream();
        var other = NewStream();
        await SeedOutboxAsync(slow, policy, 2);
        await SeedOutboxAsync(other, policy, 1);
        var failOnce = 0;
        var publisher = new RecordingPublisher
        {
            Fail = m => m.StreamId == slow && m.Headers[OutboxHeaders.Version] == "1" && Interlocked.Increment(ref failOnce) == 1 ? new IOException("nack") : null,
        };

        var failedAt = DateTimeOffset.UtcNow;
        Assert.That(await DispatchAsync(publisher, policy), Is.EqualTo(1));
        Assert.That(publisher.Published.Select(m => m.StreamId), Is.EqualTo(new[] { other }), "the slow stream's version 2 waits for version 1");
        var retrying = (await RowsAsync()).Single(r => r.StreamId == slow.Id && r.StreamVersion == 1);
        Assert.That(retrying.Attempts, Is.EqualTo(1));
        Assert.That((retrying.LeaseOwner, retrying.LeaseExpiresAt), Is.EqualTo(((string?)null, (DateTimeOffset?)null)), "the lease ends with the recorded outcome");
        Assert.That(retrying.NextAttemptAt - failedAt, Is.InRange(TimeSpan.FromSeconds(0.4), TimeSpan.FromSeconds(1.5)), "backoff with jitter (half to all of 1 s)");
        var stats = await StatsAsync();
        Assert.That((stats.Pending, stats.Retrying), Is.EqualTo((2L, 1L)));
        Assert.That(await DispatchAsync(publisher, policy), Is.Zero, "not due yet");

        // Poll (the backoff is on the store's clock) until both are published.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (publisher.Published.Count < 3 && DateTime.UtcNow < deadline)
        {
            await DispatchAsync(publisher, policy);
            await Task.Delay(50);
        }

        Assert.That(publisher.Published.Where(m => m.StreamId == slow).Select(m => (m.Headers[OutboxHeaders.Version], m.Attempt)),
            Is.EqualTo(new[] { ("1", 2), ("2", 1) }));
    }

    [Test]
    public virtual async Task A_dead_letter_does_not_hold_back_its_stream()
    {
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").MaxAttempts(1);
        var stream = NewStream();
        await SeedOutboxAsync(stream, policy, 3);
        var publisher = new RecordingPublisher { Fail = m => m.Headers[OutboxHeaders.Version] == "1" ? new IOException("poison") : null };
        Assert.That(await DispatchAsync(publisher, policy), Is.EqualTo(2));
        Assert.That(publisher.Published.Select(m => m.Headers[OutboxHeaders.Version]), Is.EqualTo(new[] { "2", "3" }));
        Assert.That((await StatsAsync()).DeadLetters, Is.EqualTo(1));
    }

    [Test]
    public virtual async Task Unordered_dispatch_does_not_hold_back_a_stream_behind_a_retrying_message()
    {
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").DispatchUnordered(4).RetryBackoff(TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        var stream = NewStream();
        await SeedOutboxAsync(stream, policy, 3);
        var publisher = new RecordingPublisher { Fail = m => m.Headers[OutboxHeaders.Version] == "1" ? new IOException("nack") : null };
        Assert.That(await DispatchAsync(publisher, policy), Is.EqualTo(2));
        Assert.That(publisher.Published.Select(m => m.Headers[OutboxHeaders.Version]).Order(), Is.EqualTo(new[] { "2", "3" }));
    }

    [Test]
    public virtual async Task Messages_of_a_stream_are_published_in_version_order_across_batches()
    {
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").BatchSize(3);
        var a = NewStream();
        var b = NewStream();
        for (var i = 0; i < 4; i++)
        {
            await SeedOutboxAsync(a, policy, 2);
            await SeedOutboxAsync(b, policy, 1);
        }

        var publisher = new RecordingPublisher();
        Assert.That(await DispatchAsync(publisher, policy), Is.EqualTo(12));
        Assert.That(publisher.Published.Where(m => m.StreamId == a).Select(m => long.Parse(m.Headers[OutboxHeaders.Version], System.Globalization.CultureInfo.InvariantCulture)),
            Is.EqualTo(Enumerable.Range(1, 8).Select(v => (long)v)));
        Assert.That(publisher.Published.Where(m => m.StreamId == b).Select(m => m.Headers[OutboxHeaders.Version]), Is.EqualTo(new[] { "1", "2", "3", "4" }));
    }

    [Test]
    public virtual async Task Cancelling_dispatch_keeps_what_was_published_marked()
    {
        var stream = NewStream();
        await SeedOutboxAsync(stream, null, 3);
        using var cts = new CancellationTokenSource();
        var publisher = new RecordingPublisher { AfterRecord = _ => cts.Cancel() };
        await using (var db = CreateOutboxContext())
        {
            Assert.That(() => db.Outbox().DispatchPendingAsync(publisher, cts.Token), Throws.InstanceOf<OperationCanceledException>());
        }

        Assert.That(publisher.Published, Has.Count.EqualTo(1));
        var rest = new RecordingPublisher();
        Assert.That(await DispatchAsync(rest), Is.EqualTo(2));
        Assert.That(rest.Published.Select(m => m.Headers[OutboxHeaders.Version]), Is.EqualTo(new[] { "2", "3" }), "version 1 is not published again");
    }

    [Test]
    public virtual async Task DeleteDispatchedAsync_deletes_only_messages_dispatched_before_the_retention()
    {
        Action<OutboxOptionsBuilder> keepADay = o => o.PublishAll("events").RetainDispatchedFor(TimeSpan.FromDays(1));
        Action<OutboxOptionsBuilder> keepNothing = o => o.PublishAll("events").RetainDispatchedFor(TimeSpan.Zero);
        await SeedOutboxAsync(NewStream(), keepADay, 2);
        Assert.That(await DispatchAsync(new RecordingPublisher(), keepADay), Is.EqualTo(2));
        await SeedOutboxAsync(NewStream(), keepADay, 1);

        await using (var db = CreateOutboxContext(keepADay))
        {
            Assert.That(await db.Outbox().DeleteDispatchedAsync(), Is.Zero, "within the retention");
        }

        await Task.Delay(10); // the store's clock moves past the dispatch time
        await using (var db = CreateOutboxContext(keepNothing))
        {
            Assert.That(await db.Outbox().DeleteDispatchedAsync(), Is.EqualTo(2));
        }

        var rows = await RowsAsync();
        Assert.That(rows.Select(r => r.DispatchedAt), Is.EqualTo(new DateTimeOffset?[] { null }), "the pending message stays");
    }

    [Test]
    public virtual async Task A_hanging_publisher_times_out_each_attempt_with_its_token_cancelled_and_ends_a_dead_letter([Values] bool honoursCancellation)
    {
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").MaxAttempts(3).RetryBackoff(TimeSpan.Zero, TimeSpan.Zero).PublishTimeout(TimeSpan.FromMilliseconds(200));
        var stream = NewStream();
        var ids = await SeedOutboxAsync(stream, policy, 2);
        var hanging = new HangingPublisher(honoursCancellation);

        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        Assert.That(await DispatchAsync(hanging, policy), Is.Zero);
        Assert.That(hanging.Attempts, Is.EqualTo(new[] { (ids[0], 1), (ids[0], 2), (ids[0], 3), (ids[1], 1), (ids[1], 2), (ids[1], 3) }),
            "each attempt times out, counts, and the stream moves on only once version 1 is a dead letter");
        Assert.That(hanging.CancelledTokens, Is.EqualTo(6), "every attempt's token was cancelled at the timeout");
        Assert.That(elapsed.Elapsed, Is.LessThan(TimeSpan.FromSeconds(15)), "the dispatcher did not wait for the hanging publishes");
        var rows = await RowsAsync();
        Assert.That(rows.Select(r => (r.Attempts, r.DeadLetteredAt != null)), Is.All.EqualTo((3, true)));
        Assert.That(rows.Select(r => r.LastError), Has.All.Contains("TimeoutException").And.All.Contains("publish timeout"));
        Assert.That(rows.Select(r => r.LeaseOwner), Is.All.Null);
        Assert.That(await StatsAsync(), Is.EqualTo(new OutboxStats(0, 0, null, 2)));
    }

    [Test]
    public virtual async Task Dead_letters_are_listed_page_by_page_filtered_inspected_requeued_and_purged()
    {
        var seed = Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        Action<OutboxOptionsBuilder> policy = o => o.Publish(e => e.StreamId.Type == "red", "red").Publish(e => e.StreamId.Type == "blue", "blue").MaxAttempts(1);
        var poison = new Dictionary<Guid, (string Destination, string Error)>();
        var all = new List<Guid>();
        for (var i = 0; i < 12; i++)
        {
            var destination = random.Next(2) == 0 ? "red" : "blue";
            var ids = await SeedOutboxAsync(NewStream(destination), policy, 1 + random.Next(3));
            all.AddRange(ids);
            foreach (var id in ids.Where(_ => random.Next(3) > 0))
            {
                poison[id] = (destination, random.Next(2) == 0 ? "NackedByBroker" : "SchemaRejected");
            }
        }

        var publisher = new RecordingPublisher { Fail = m => poison.TryGetValue(m.MessageId, out var p) ? new IOException(p.Error + " " + m.MessageId) : null };
        Assert.That(await DispatchAsync(publisher, policy), Is.EqualTo(all.Count - poison.Count));

        await using var db = CreateOutboxContext(policy);
        var outbox = db.Outbox();
        async Task<List<OutboxDeadLetter>> ReadAllPagesAsync(OutboxDeadLetterFilter? filter)
        {
            var pages = new List<OutboxDeadLetter>();
            long after = 0;
            while (true)
            {
                var page = await outbox.GetDeadLettersAsync(filter, after, limit: 3);
                Assert.That(page, Has.Count.LessThanOrEqualTo(3));
                pages.AddRange(page);
                if (page.Count < 3)
                {
                    return pages;
                }

                after = page[^1].Id;
            }
        }

        var listed = await ReadAllPagesAsync(null);
        Assert.That(listed.Select(d => d.MessageId), Is.EquivalentTo(poison.Keys));
        Assert.That(listed.Select(d => d.Id), Is.Ordered.Ascending.And.Unique);
        foreach (var (destination, error) in new[] { ("red", "NackedByBroker"), ("blue", "SchemaRejected"), ("red", "SchemaRejected") })
        {
            var filtered = await ReadAllPagesAsync(new OutboxDeadLetterFilter { Destination = destination, ErrorContains = error });
            Assert.That(filtered.Select(d => d.MessageId), Is.EquivalentTo(poison.Where(p => p.Value == (destination, error)).Select(p => p.Key)), $"{destination}/{error}");
        }

        if (listed.Count > 0)
        {
            var one = await outbox.FindDeadLetterAsync(listed[0].Id);
            Assert.That(one, Is.Not.Null);
            Assert.That((one!.MessageId, one.Attempts, one.Destination), Is.EqualTo((listed[0].MessageId, 1, poison[listed[0].MessageId].Destination)));
            Assert.That(one.LastError, Does.Contain(poison[one.MessageId].Error).And.Contain("IOException"));
            Assert.That(one.Headers[OutboxHeaders.EventId], Is.EqualTo(one.MessageId.ToString()));
            Assert.That(one.Payload, Does.Contain("amount"));
        }

        Assert.That(await outbox.FindDeadLetterAsync(long.MaxValue), Is.Null);
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => outbox.GetDeadLettersAsync(limit: 0))!.ParamName, Is.EqualTo("limit"));
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => outbox.GetDeadLettersAsync(afterId: -1))!.ParamName, Is.EqualTo("afterId"));

        var redNacks = poison.Count(p => p.Value == ("red", "NackedByBroker"));
        Assert.That(await outbox.RequeueDeadLettersAsync(new OutboxDeadLetterFilter { Destination = "red", ErrorContains = "NackedByBroker" }), Is.EqualTo(redNacks));
        var schema = poison.Count(p => p.Value.Error == "SchemaRejected");
        Assert.That(await outbox.PurgeDeadLettersAsync(new OutboxDeadLetterFilter { ErrorContains = "SchemaRejected" }), Is.EqualTo(schema));
        Assert.That(await outbox.RequeueDeadLettersAsync(), Is.EqualTo(poison.Count - redNacks - schema), "requeue all: the blue nacks are left");
        Assert.That((await outbox.GetStatsAsync()).DeadLetters, Is.Zero);

        var healthy = new RecordingPublisher();
        Assert.That(await DispatchAsync(healthy, policy), Is.EqualTo(poison.Count - schema));
        Assert.That(healthy.Published.Select(m => m.MessageId), Is.EquivalentTo(poison.Where(p => p.Value.Error != "SchemaRejected").Select(p => p.Key)));
        Assert.That((await RowsAsync()).Select(r => r.EventId), Is.EquivalentTo(all.Except(poison.Where(p => p.Value.Error == "SchemaRejected").Select(p => p.Key))),
            "purged rows are gone, nothing else");
    }

    [Test]
    public virtual async Task Busy_streams_are_dispatched_by_concurrent_dispatchers_in_order_each_message_once()
    {
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").BatchSize(7);
        var streams = Enumerable.Range(0, 3).Select(_ => NewStream()).ToArray();
        foreach (var stream in streams)
        {
            await SeedOutboxAsync(stream, policy, 60);
        }

        var publisher = new RecordingPublisher();
        var dispatchers = Enumerable.Range(0, 3).Select(_ => Task.Run(() => DispatchAsync(publisher, policy))).ToArray();
        var published = (await Task.WhenAll(dispatchers)).Sum();
        published += await DispatchAsync(publisher, policy);
        Assert.That(published, Is.EqualTo(180));
        Assert.That(publisher.Published.Select(m => m.MessageId).Distinct().Count(), Is.EqualTo(180), "none twice");
        foreach (var stream in streams)
        {
            Assert.That(publisher.Published.Where(m => m.StreamId == stream).Select(m => long.Parse(m.Headers[OutboxHeaders.Version], System.Globalization.CultureInfo.InvariantCulture)),
                Is.EqualTo(Enumerable.Range(1, 60).Select(v => (long)v)));
        }
    }

    [Test]
    public virtual async Task Concurrent_dispatchers_with_random_failures_never_publish_a_message_before_the_earlier_ones_of_its_stream()
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var batch = random.Next(1, 12);
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").BatchSize(batch).MaxAttempts(50).RetryBackoff(TimeSpan.Zero, TimeSpan.Zero);

        // Streams filled in random interleaving, a few events per save, so ids and streams interleave as in production.
        var remaining = Enumerable.Range(0, random.Next(2, 14)).ToDictionary(_ => NewStream(), _ => random.Next(1, 12));
        var total = remaining.Values.Sum();
        await using (var db = CreateOutboxContext(policy))
        {
            while (remaining.Count > 0)
            {
                var stream = remaining.Keys.ElementAt(random.Next(remaining.Count));
                var count = Math.Min(remaining[stream], random.Next(1, 4));
                await db.Events().AppendAsync(stream, ExpectedVersion.Any, Enumerable.Range(0, count).Select(i => new EventData(new Deposited(i))).ToArray());
                remaining[stream] -= count;
                if (remaining[stream] == 0)
                {
                    remaining.Remove(stream);
                }
            }
        }

        // Every call is logged in the order it happened: (stream, version, accepted). A fifth of first and second attempts fail.
        var log = new System.Collections.Concurrent.ConcurrentQueue<(StreamId Stream, long Version, bool Accepted)>();
        var failures = new Random(seed + 1);
        var publisher = new RecordingPublisher
        {
            Fail = m =>
            {
                bool fail;
                lock (failures)
                {
                    fail = m.Attempt <= 2 && failures.Next(5) == 0;
                }

                var version = long.Parse(m.Headers[OutboxHeaders.Version], System.Globalization.CultureInfo.InvariantCulture);
                log.Enqueue((m.StreamId, version, !fail));
                return fail ? new IOException("nack") : null;
            },
        };

        var dispatchers = random.Next(2, 5);
        TestContext.Out.WriteLine($"{total} messages, batch {batch}, {dispatchers} dispatchers");
        await RunDispatchersAsync(dispatchers, publisher, policy, () => publisher.Published.Count >= total);

        Assert.That(publisher.Published, Has.Count.EqualTo(total), "every message published");
        Assert.That(publisher.Published.Select(m => m.MessageId).Distinct().Count(), Is.EqualTo(total), "none twice");
        AssertStreamOrder(log);
    }

    [Test]
    public virtual async Task A_claimed_run_stops_at_its_first_failure_the_messages_behind_it_wait_uncharged_and_other_streams_go_on()
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var batch = random.Next(1, 40);
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").BatchSize(batch).RetryBackoff(TimeSpan.FromHours(1), TimeSpan.FromHours(1));

        // Each stream fails at one random version (or none): its run must stop there, whatever the batches' cut.
        var streams = Enumerable.Range(0, random.Next(2, 7)).Select(_ => (Stream: NewStream(), Count: random.Next(1, 13))).ToList();
        var failAt = streams.ToDictionary(s => s.Stream, s => random.Next(3) == 0 ? (long?)null : random.Next(1, s.Count + 1));
        foreach (var (stream, count) in streams)
        {
            await SeedOutboxAsync(stream, policy, count);
        }

        TestContext.Out.WriteLine($"batch {batch}; streams (count, failing version): {string.Join(", ", streams.Select(s => (s.Count, failAt[s.Stream])))}");
        var calls = new System.Collections.Concurrent.ConcurrentQueue<(StreamId Stream, long Version, int Attempt)>();
        var publisher = new RecordingPublisher
        {
            Fail = m =>
            {
                var version = long.Parse(m.Headers[OutboxHeaders.Version], System.Globalization.CultureInfo.InvariantCulture);
                calls.Enqueue((m.StreamId, version, m.Attempt));
                return version == failAt[m.StreamId] ? new IOException("nack") : null;
            },
        };

        var expectedPublished = streams.Sum(s => (int)(failAt[s.Stream] - 1 ?? s.Count));
        Assert.That(await DispatchAsync(publisher, policy), Is.EqualTo(expectedPublished));
        Assert.That(await DispatchAsync(publisher, policy), Is.Zero, "each failed head holds its stream back for its backoff");

        var rows = await RowsAsync();
        foreach (var (stream, count) in streams)
        {
            var last = failAt[stream] ?? count;
            Assert.That(calls.Where(c => c.Stream == stream).Select(c => (c.Version, c.Attempt)), Is.EqualTo(Enumerable.Range(1, (int)last).Select(v => ((long)v, 1))),
                $"stream {stream}: tried once each, in version order, up to its failing version {failAt[stream]}");
            foreach (var row in rows.Where(r => r.StreamId == stream.Id))
            {
                var state = (row.Attempts, row.DispatchedAt is not null, row.LeaseOwner, row.LeaseExpiresAt);
                if (row.StreamVersion < last || failAt[stream] is null)
                {
                    Assert.That(state, Is.EqualTo((1, true, (string?)null, (DateTimeOffset?)null)), $"{stream}@{row.StreamVersion}: dispatched, one attempt");
                }
                else if (row.StreamVersion == last)
                {
                    Assert.That(state, Is.EqualTo((1, false, (string?)null, (DateTimeOffset?)null)), $"{stream}@{row.StreamVersion}: retrying, one attempt");
                    Assert.That(row.LastError, Does.Contain("nack"));
                }
                else
                {
                    Assert.That(state, Is.EqualTo((0, false, (string?)null, (DateTimeOffset?)null)), $"{stream}@{row.StreamVersion}: behind the failed head, never charged");
                }
            }
        }

        var stats = await StatsAsync();
        Assert.That((stats.Pending, stats.Retrying), Is.EqualTo((
            (long)rows.Count(r => r.DispatchedAt is null), (long)failAt.Values.Count(f => f is not null))));
    }

    [Test]
    public virtual async Task Concurrent_dispatchers_publish_each_message_once_at_a_time_in_stream_order_and_charge_only_the_attempts_they_make()
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var batch = random.Next(1, 30);
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").BatchSize(batch).MaxAttempts(50).RetryBackoff(TimeSpan.Zero, TimeSpan.Zero);
        var streams = Enumerable.Range(0, random.Next(2, 6)).Select(_ => NewStream()).ToList();
        var total = 0;
        for (var round = 0; round < 3; round++)
        {
            foreach (var stream in streams)
            {
                var count = random.Next(1, 8);
                await SeedOutboxAsync(stream, policy, count);
                total += count;
            }
        }

        // Every call in the order it happened; a quarter of first and second attempts fail. The publisher yields while it
        // holds a message, so that dispatchers interleave, and notes any message published by two of them at once.
        var failures = new Random(seed + 1);
        var publisher = new InterleavingPublisher(m =>
        {
            lock (failures)
            {
                return m.Attempt <= 2 && failures.Next(4) == 0;
            }
        });
        var dispatchers = random.Next(2, 5);
        TestContext.Out.WriteLine($"{total} messages over {streams.Count} streams, batch {batch}, {dispatchers} dispatchers");
        await RunDispatchersAsync(dispatchers, publisher, policy, () => publisher.Accepted >= total);

        var calls = publisher.Calls.ToList();
        Assert.That(publisher.Overlaps, Is.Empty, "no message published by two dispatchers at once");
        Assert.That(calls.Where(c => c.Accepted).Select(c => c.MessageId).Distinct().Count(), Is.EqualTo(total), "every message published");
        Assert.That(calls.Count(c => c.Accepted), Is.EqualTo(total), "none accepted twice");
        AssertStreamOrder(calls.Select(c => (c.Stream, c.Version, c.Accepted)));

        var rows = await RowsAsync();
        foreach (var row in rows)
        {
            var tried = calls.Where(c => c.MessageId == row.EventId).Select(c => c.Attempt).ToList();
            Assert.That(tried, Is.EqualTo(Enumerable.Range(1, tried.Count)), $"{row.StreamId}@{row.StreamVersion}: attempts numbered 1, 2, …");
            Assert.That((row.Attempts, row.DispatchedAt is not null), Is.EqualTo((tried.Count, true)), $"{row.StreamId}@{row.StreamVersion}: one attempt charged per publish");
        }
    }

    [Test]
    public virtual async Task The_outbox_needs_UseOutbox_and_an_idle_context()
    {
        await using (var db = CreateContext())
        {
            var ex = Assert.Throws<InvalidOperationException>(() => db.Outbox());
            Assert.That(ex!.Message, Does.Contain("UseOutbox"));
            db.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(1));
            await db.SaveChangesAsync();
        }

        Assert.That(await RowsAsync(), Is.Empty, "no outbox row without UseOutbox");

        await using (var db = CreateOutboxContext())
        {
            db.Customers.Add(new Customer { Name = "pending", Email = Guid.NewGuid() + "@example.com" });
            var ex = Assert.ThrowsAsync<InvalidOperationException>(() => db.Outbox().DispatchPendingAsync(new RecordingPublisher()));
            Assert.That(ex!.Message, Does.Contain("unsaved changes"));
        }
    }

    [Test]
    public virtual async Task The_hosted_dispatcher_publishes_committed_messages()
    {
        var options = Fixture.CreateOptions(es => es.UseOutbox(o => o.PublishAll("events")));
        var publisher = new RecordingPublisher();
        var services = new ServiceCollection();
        services.AddScoped(_ => new TestDbContext(options));
        services.AddSingleton(publisher);
        services.AddEventSourcingOutbox<TestDbContext, RecordingPublisher>(o => o.PollingInterval = TimeSpan.FromMilliseconds(20));
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        Assert.That(hosted, Has.Count.EqualTo(1));

        await hosted[0].StartAsync(CancellationToken.None);
        try
        {
            var stream = NewStream();
            await using (var db = new TestDbContext(options))
            {
                db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
                await db.SaveChangesAsync();
            }

            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (publisher.Published.Count < 2 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.That(publisher.Published.Select(m => m.Headers[OutboxHeaders.Version]), Is.EqualTo(new[] { "1", "2" }));
        }
        finally
        {
            await hosted[0].StopAsync(CancellationToken.None);
        }
    }

    [Test]
    public virtual async Task Published_failed_and_dead_lettered_messages_are_counted_by_the_outbox_meter()
    {
        var destination = "metered-" + Guid.NewGuid().ToString("N"); // tags this test's measurements
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll(destination).MaxAttempts(2).RetryBackoff(TimeSpan.Zero, TimeSpan.Zero);
        await SeedOutboxAsync(NewStream(), policy, 1);
        await SeedOutboxAsync(NewStream(), policy, 1);
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EventSourcingDiagnostics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "messaging.destination.name" && (string?)tag.Value == destination)
                {
                    counts.AddOrUpdate(instrument.Name, value, (_, v) => v + value);
                }
            }
        });
        listener.Start();

        var failFirstStream = (StreamId?)null;
        var publisher = new RecordingPublisher
        {
            Fail = m =>
            {
                failFirstStream ??= m.StreamId;
                return m.StreamId == failFirstStream ? new IOException("poison") : null;
            },
        };
        Assert.That(await DispatchAsync(publisher, policy), Is.EqualTo(1));
        Assert.That(counts.GetValueOrDefault("eventsourcing.outbox.published"), Is.EqualTo(1));
        Assert.That(counts.GetValueOrDefault("eventsourcing.outbox.failed"), Is.EqualTo(2));
        Assert.That(counts.GetValueOrDefault("eventsourcing.outbox.dead_lettered"), Is.EqualTo(1));
    }

    /// <summary>Runs <paramref name="dispatchers"/> concurrent dispatch loops until <paramref name="done"/> (or 60 s).</summary>
    private async Task RunDispatchersAsync(int dispatchers, IOutboxPublisher publisher, Action<OutboxOptionsBuilder> policy, Func<bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        await Task.WhenAll(Enumerable.Range(0, dispatchers).Select(_ => Task.Run(async () =>
        {
            while (!done() && DateTime.UtcNow < deadline)
            {
                if (await DispatchAsync(publisher, policy) == 0)
                {
                    await Task.Delay(10);
                }
            }
        })));
    }

    /// <summary>Asserts that, in each stream, every publish call was for the version after the last one accepted.</summary>
    private static void AssertStreamOrder(IEnumerable<(StreamId Stream, long Version, bool Accepted)> calls)
    {
        foreach (var stream in calls.GroupBy(c => c.Stream))
        {
            var accepted = 0L;
            foreach (var (_, version, ok) in stream)
            {
                Assert.That(version, Is.EqualTo(accepted + 1), $"stream {stream.Key}: version {version} tried while version {accepted + 1} was not yet published");
                accepted = ok ? version : accepted;
            }
        }
    }

    [Test]
    public virtual async Task A_publish_token_is_never_cancelled_after_its_publish_ended_whatever_times_out_later()
    {
        var stream = NewStream();
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").PublishTimeout(TimeSpan.FromMilliseconds(300)).RetryBackoff(TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        await SeedOutboxAsync(stream, policy, 3);
        var tokens = new List<CancellationToken>();
        var publisher = new DelegatePublisher(async (message, cancellationToken) =>
        {
            tokens.Add(cancellationToken);
            if (message.Headers[OutboxHeaders.Version] == "3")
            {
                await Task.Delay(Timeout.Infinite, cancellationToken); // times out
            }
        });

        Assert.That(await DispatchAsync(publisher, policy), Is.EqualTo(2));
        Assert.That(tokens, Has.Count.EqualTo(3));
        Assert.That(tokens[2].IsCancellationRequested, Is.True, "the third publish timed out");
        Assert.That(tokens.Take(2).Select(t => t.IsCancellationRequested), Is.All.False, "a finished publish's token is not cancelled by a later timeout (a publisher may keep it)");
    }

    /// <summary>Appends <paramref name="count"/> events to <paramref name="stream"/> with an outbox context; returns their ids.</summary>
    protected async Task<Guid[]> SeedOutboxAsync(StreamId stream, Action<OutboxOptionsBuilder>? outbox, int count, TimeProvider? clock = null)
    {
        await using var db = CreateOutboxContext(outbox, clock);
        var events = Enumerable.Range(1, count).Select(i => new EventData(new Deposited(i)) { EventId = Guid.CreateVersion7() }).ToArray();
        await db.Events().AppendAsync(stream, ExpectedVersion.Any, events);
        return events.Select(e => e.EventId!.Value).ToArray();
    }

    /// <summary>
    /// A publisher that yields while it holds a message (so that concurrent dispatchers interleave), records every call in
    /// order, and notes a message that is published by two callers at once.
    /// </summary>
    private sealed class InterleavingPublisher(Func<OutboxMessage, bool> fail) : IOutboxPublisher
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, byte> _inFlight = new();
        private readonly System.Collections.Concurrent.ConcurrentQueue<(Guid MessageId, StreamId Stream, long Version, int Attempt, bool Accepted)> _calls = new();
        private readonly System.Collections.Concurrent.ConcurrentQueue<Guid> _overlaps = new();
        private int _accepted;

        public IEnumerable<(Guid MessageId, StreamId Stream, long Version, int Attempt, bool Accepted)> Calls => _calls;

        public IEnumerable<Guid> Overlaps => _overlaps;

        public int Accepted => Volatile.Read(ref _accepted);

        public async Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken)
        {
            if (!_inFlight.TryAdd(message.MessageId, 0))
            {
                _overlaps.Enqueue(message.MessageId);
            }

            try
            {
                await Task.Yield();
                var failed = fail(message);
                var version = long.Parse(message.Headers[OutboxHeaders.Version], System.Globalization.CultureInfo.InvariantCulture);
                _calls.Enqueue((message.MessageId, message.StreamId, version, message.Attempt, !failed));
                if (failed)
                {
                    throw new IOException("nack");
                }

                Interlocked.Increment(ref _accepted);
            }
            finally
            {
                _inFlight.TryRemove(message.MessageId, out _);
            }
        }
    }
}
