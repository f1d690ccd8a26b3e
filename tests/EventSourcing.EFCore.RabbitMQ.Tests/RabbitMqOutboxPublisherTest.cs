using System.Globalization;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.RabbitMQ.Tests;

/// <summary>
/// The RabbitMQ outbox publisher against a real broker (the store is EF InMemory: the broker is what is under test):
/// every message arrives, in per-stream order, with its AMQP properties and headers; unroutable messages and unmapped
/// destinations fail their attempts and end as dead letters; a broker stopped mid-run and started again loses nothing.
/// </summary>
public sealed class RabbitMqOutboxPublisherTest
{
    private string _database = null!;

    [SetUp]
    public void NewStore() => _database = "rabbitmq-" + Guid.NewGuid().ToString("N");

    private TestDbContext CreateContext(Action<OutboxOptionsBuilder> outbox)
    {
        var builder = new DbContextOptionsBuilder<TestDbContext>().UseInMemoryDatabase(_database);
        builder.UseEventSourcing(es => es.AddEvents(typeof(TestDbContext).Assembly).UseOutbox(outbox));
        return new TestDbContext(builder.Options);
    }

    private async Task<List<Guid>> SeedAsync(Action<OutboxOptionsBuilder> outbox, Random random, int streams, int messages, Func<int, IReadOnlyDictionary<string, string>?>? metadata = null)
    {
        var ids = new List<Guid>();
        var names = Enumerable.Range(0, streams).Select(i => new StreamId(i % 2 == 0 ? "order" : "invoice", Guid.NewGuid().ToString("N"))).ToArray();
        var i = 0;
        while (ids.Count < messages)
        {
            await using var db = CreateContext(outbox);
            var stream = names[random.Next(streams)];
            var count = Math.Min(1 + random.Next(4), messages - ids.Count);
            var events = Enumerable.Range(0, count).Select(_ =>
                new EventData(new Deposited(random.Next(1, 1000))) { EventId = Guid.CreateVersion7(), Metadata = metadata?.Invoke(i++) }).ToArray();
            await db.Events().AppendAsync(stream, ExpectedVersion.Any, events);
            ids.AddRange(events.Select(e => e.EventId!.Value));
        }

        return ids;
    }

    private static void AssertStreamOrder(IEnumerable<(string MessageId, string? Type, long Timestamp, IDictionary<string, string> Headers, string Body)> received)
    {
        foreach (var stream in received.GroupBy(m => m.Headers[OutboxHeaders.StreamType] + "/" + m.Headers[OutboxHeaders.StreamId]))
        {
            // First arrival of each message: versions only go up (a re-delivered earlier message is a duplicate, not disorder).
            var seen = new HashSet<string>();
            var versions = stream.Where(m => seen.Add(m.MessageId)).Select(m => long.Parse(m.Headers[OutboxHeaders.Version], CultureInfo.InvariantCulture)).ToList();
            Assert.That(versions, Is.Ordered.Ascending.And.Unique, $"stream {stream.Key}");
        }
    }

    [Test]
    public async Task Every_message_arrives_in_stream_order_with_its_id_type_timestamp_headers_and_trace_context()
    {
        var seed = Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var (exchange, queue) = await RabbitMqBroker.DeclareAsync();
        Action<OutboxOptionsBuilder> outbox = o => o.PublishAll("ledger");
        const string traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var ids = await SeedAsync(outbox, random, streams: 12, messages: 240,
            metadata: i => i % 3 == 0 ? new Dictionary<string, string> { ["traceparent"] = traceParent, ["correlation-id"] = "corr-" + i } : null);

        await using var publisher = new RabbitMqOutboxPublisher(new RabbitMqOutboxOptions { ConnectionUri = RabbitMqBroker.Uri }.Map("ledger", exchange, m => m.StreamId.Type));
        await using (var db = CreateContext(outbox))
        {
            Assert.That(await db.Outbox().DispatchPendingAsync(publisher), Is.EqualTo(ids.Count));
        }

        var received = await RabbitMqBroker.DrainAsync(queue);
        Assert.That(received.Select(m => Guid.Parse(m.MessageId)), Is.EquivalentTo(ids), "every message once");
        AssertStreamOrder(received);
        await using var check = CreateContext(outbox);
        var events = await check.Set<StoredEvent>().AsNoTracking().ToDictionaryAsync(e => e.EventId);
        foreach (var message in received)
        {
            var stored = events[Guid.Parse(message.MessageId)];
            Assert.That(message.Type, Is.EqualTo("test.deposited"));
            Assert.That(message.Timestamp, Is.EqualTo(DateTimeOffset.Parse(message.Headers[OutboxHeaders.Timestamp], CultureInfo.InvariantCulture).ToUnixTimeSeconds()));
            Assert.That(message.Headers[OutboxHeaders.EventId], Is.EqualTo(message.MessageId));
            Assert.That(message.Headers[OutboxHeaders.GlobalPosition], Is.EqualTo(stored.GlobalPosition.ToString(CultureInfo.InvariantCulture)));
            Assert.That(message.Body, Does.Contain("amount"));
        }

        var traced = received.Where(m => m.Headers.ContainsKey("traceparent")).ToList();
        Assert.That(traced, Has.Count.EqualTo((ids.Count + 2) / 3), "the events that carried W3C trace context");
        Assert.That(traced.Select(m => m.Headers["traceparent"]), Is.All.EqualTo(traceParent));
    }

    [Test]
    public async Task A_message_carries_the_trace_of_the_command_that_appended_its_event_below_the_publish_span()
    {
        using var capture = new TelemetryCapture();
        var (exchange, queue) = await RabbitMqBroker.DeclareAsync();
        Action<OutboxOptionsBuilder> outbox = o => o.PublishAll("ledger");
        var stream = new StreamId("order", Guid.NewGuid().ToString("N"));
        System.Diagnostics.ActivityTraceId appending;
        using (var command = TelemetryCapture.TestSource.StartActivity("command")!)
        {
            appending = command.TraceId;
            await using var db = CreateContext(outbox);
            await db.Events().AppendAsync(stream, ExpectedVersion.NoStream, [new Deposited(1), new Deposited(2), new Deposited(3)]);
        }

        await using var publisher = new RabbitMqOutboxPublisher(new RabbitMqOutboxOptions { ConnectionUri = RabbitMqBroker.Uri }.Map("ledger", exchange, m => m.StreamId.Type));
        await using (var db = CreateContext(outbox))
        {
            Assert.That(await db.Outbox().DispatchPendingAsync(publisher), Is.EqualTo(3));
        }

        var received = await RabbitMqBroker.DrainAsync(queue);
        var spans = capture.SpansOf(appending, "publish ledger").ToDictionary(a => (string)a.GetTagItem("messaging.message.id")!);
        Assert.That(received, Has.Count.EqualTo(3));
        Assert.Multiple(() =>
        {
            foreach (var message in received)
            {
                var context = System.Diagnostics.ActivityContext.Parse(message.Headers["traceparent"], null);
                Assert.That(context.TraceId, Is.EqualTo(appending), "the append's trace id travels in the AMQP headers");
                Assert.That(message.Headers["traceparent"], Is.EqualTo(spans[message.MessageId].Id), "below the publish span");
                Assert.That(spans[message.MessageId].GetTagItem("messaging.system"), Is.EqualTo("rabbitmq"));
            }
        });
    }

    [Test]
    public async Task An_unroutable_message_fails_each_attempt_and_ends_a_dead_letter_and_an_unmapped_destination_too()
    {
        var (exchange, _) = await RabbitMqBroker.DeclareAsync(bindQueue: false);
        Action<OutboxOptionsBuilder> outbox = o => o.Publish(e => e.StreamId.Type == "order", "orders").Publish(e => e.StreamId.Type == "invoice", "invoices")
            .MaxAttempts(2).RetryBackoff(TimeSpan.Zero, TimeSpan.Zero);
        var ids = new List<Guid>();
        foreach (var type in new[] { "order", "invoice" })
        {
            await using var seed = CreateContext(outbox);
            var e = new EventData(new Deposited(1)) { EventId = Guid.CreateVersion7() };
            await seed.Events().AppendAsync(new StreamId(type, Guid.NewGuid().ToString("N")), ExpectedVersion.NoStream, new[] { e });
            ids.Add(e.EventId!.Value);
        }

        await using var publisher = new RabbitMqOutboxPublisher(new RabbitMqOutboxOptions { ConnectionUri = RabbitMqBroker.Uri }.Map("orders", exchange, "nowhere"));
        await using var db = CreateContext(outbox);
        Assert.That(await db.Outbox().DispatchPendingAsync(publisher), Is.Zero);
        var dead = await db.Outbox().GetDeadLettersAsync();
        Assert.That(dead.Select(d => d.MessageId), Is.EquivalentTo(ids));
        Assert.That(dead.Select(d => d.Attempts), Is.All.EqualTo(2));
        Assert.That(dead.Single(d => d.Destination == "orders").LastError, Does.Contain(nameof(RabbitMqUnroutableMessageException)).And.Contain("nowhere"));
        Assert.That(dead.Single(d => d.Destination == "invoices").LastError, Does.Contain("InvalidOperationException").And.Contain("Map(\"invoices\""));
    }

    [Test]
    public async Task A_broker_stopped_mid_run_and_started_again_loses_nothing()
    {
        var seed = Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed}");
        var (exchange, queue) = await RabbitMqBroker.DeclareAsync();
        Action<OutboxOptionsBuilder> outbox = o => o.PublishAll("ledger").MaxAttempts(100).RetryBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500))
            .PublishTimeout(TimeSpan.FromSeconds(5));
        var ids = await SeedAsync(outbox, new Random(seed), streams: 10, messages: 400);
        await using var publisher = new RabbitMqOutboxPublisher(
            new RabbitMqOutboxOptions { ConnectionUri = RabbitMqBroker.Uri, NetworkRecoveryInterval = TimeSpan.FromMilliseconds(500) }.Map("ledger", exchange, m => m.StreamId.Type));
        var paused = false;
        // the broker is stopped from inside the publish path once a third of the messages are confirmed, so the outage
        // always falls mid-run, however fast this machine publishes
        var counting = new CountingPublisher(publisher, pauseAfter: ids.Count / 3, pause: () =>
        {
            Volatile.Write(ref paused, true);
            RabbitMqBroker.SetPaused(true);
        });
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var dispatcher = Task.Run(async () =>
        {
            while (true)
            {
                await using var db = CreateContext(outbox);
                await db.Outbox().DispatchPendingAsync(counting, stop.Token);
                if (Volatile.Read(ref paused) == false && (await db.Outbox().GetStatsAsync(stop.Token)).Pending == 0)
                {
                    return;
                }

                await Task.Delay(50, stop.Token);
            }
        });

        await counting.Paused.WaitAsync(TimeSpan.FromSeconds(60));
        var publishedBefore = counting.Published;
        await Task.Delay(TimeSpan.FromSeconds(2));
        var failedDuringOutage = counting.Failed;
        RabbitMqBroker.SetPaused(false);
        Volatile.Write(ref paused, false);
        await dispatcher;

        var received = await RabbitMqBroker.DrainAsync(queue);
        var distinct = received.Select(m => Guid.Parse(m.MessageId)).ToHashSet();
        TestContext.Out.WriteLine($"broker outage: {publishedBefore} confirmed before it, {failedDuringOutage} failed attempts during it; "
            + $"received {received.Count} ({distinct.Count} distinct, {received.Count - distinct.Count} duplicates) of {ids.Count}");
        Assert.That(failedDuringOutage, Is.GreaterThan(0), "publishing failed while the broker was down");
        Assert.That(distinct.SetEquals(ids), Is.True, "every message arrived");
        AssertStreamOrder(received);
        await using var check = CreateContext(outbox);
        Assert.That(await check.Outbox().GetStatsAsync(), Is.EqualTo(new OutboxStats(0, 0, null, 0)));
    }

    /// <summary>Counts confirmed and failed publishes of the publisher it wraps.</summary>
    /// <remarks>With <c>pauseAfter</c>, runs <c>pause</c> once, before the publish that follows that many confirmed ones.</remarks>
    private sealed class CountingPublisher(IOutboxPublisher inner, int pauseAfter = -1, Action? pause = null) : IOutboxPublisher
    {
        private readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _published;
        private int _failed;
        private int _pausing;

        public int Published => Volatile.Read(ref _published);

        public int Failed => Volatile.Read(ref _failed);

        /// <summary>Gets a task that completes once <c>pause</c> has run.</summary>
        public Task Paused => _paused.Task;

        public async Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken)
        {
            if (pause is not null && Published >= pauseAfter && Interlocked.Exchange(ref _pausing, 1) == 0)
            {
                pause();
                _paused.TrySetResult();
            }

            try
            {
                await inner.PublishAsync(message, cancellationToken);
            }
            catch
            {
                Interlocked.Increment(ref _failed);
                throw;
            }

            Interlocked.Increment(ref _published);
        }
    }
}
