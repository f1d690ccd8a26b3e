using System.Diagnostics;
using System.Globalization;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// Several dispatchers (each with its own context and connection, as separate processes would have) share one outbox
/// on PostgreSQL while producers keep appending, with a publisher that rejects 5% of the calls at random: every message
/// is published, none twice (no dispatcher dies here, so a duplicate would mean two live dispatchers published the same
/// row), and each stream's messages arrive in version order. Figures are printed, not asserted.
/// </summary>
public sealed class OutboxDispatchersNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    private const string LongTestsVariable = "EVENTSOURCING_LONG_TESTS";

    private static readonly Action<OutboxOptionsBuilder> Policy = o => o
        .PublishAll("events")
        .RetryBackoff(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(100));

    [Test]
    public async Task Three_dispatchers_publish_every_message_once_in_stream_order_despite_5_percent_random_failures()
    {
        var full = Environment.GetEnvironmentVariable(LongTestsVariable) == "1";
        var messages = full ? 100_000 : 20_000;
        var streams = full ? 1_000 : 200;
        const int dispatchers = 3;
        const int producers = 4;
        const int streamsPerSave = 25;
        var perStream = messages / streams;

        var publisher = new RecordingPublisher { Fail = _ => Random.Shared.NextDouble() < 0.05 ? new IOException("broker rejected the message") : null };
        var ids = Enumerable.Range(0, streams).Select(i => new StreamId("outbox-soak", i.ToString("D4", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8])).ToArray();
        var perDispatcher = new int[dispatchers];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var producing = 0;
        var clock = Stopwatch.StartNew();

        // Producers: round r appends version r + 1 to each of their streams, 25 streams per SaveChanges.
        var producerTasks = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            Interlocked.Increment(ref producing);
            try
            {
                var mine = ids.Where((_, i) => i % producers == p).ToArray();
                for (var round = 0; round < perStream; round++)
                {
                    foreach (var chunk in mine.Chunk(streamsPerSave))
                    {
                        await using var db = CreateContext(es => es.UseOutbox(Policy));
                        foreach (var stream in chunk)
                        {
                            db.Events().Append(stream, ExpectedVersion.Exactly(round), new Deposited(round + 1));
                        }

                        await db.SaveChangesAsync(timeout.Token);
                    }
                }
            }
            finally
            {
                Interlocked.Decrement(ref producing);
            }
        })).ToArray();

        var dispatcherTasks = Enumerable.Range(0, dispatchers).Select(d => Task.Run(async () =>
        {
            while (true)
            {
                timeout.Token.ThrowIfCancellationRequested();
                var done = Volatile.Read(ref producing) == 0 && producerTasks.All(t => t.IsCompleted);
                await using var db = CreateContext(es => es.UseOutbox(Policy));
                var published = await db.Outbox().DispatchPendingAsync(publisher, timeout.Token);
                perDispatcher[d] += published;
                if (published == 0)
                {
                    if (done && (await db.Outbox().GetStatsAsync(timeout.Token)).Pending == 0)
                    {
                        return;
                    }

                    await Task.Delay(5, timeout.Token);
                }
            }
        })).ToArray();

        await Task.WhenAll(producerTasks);
        var produced = clock.Elapsed;
        await Task.WhenAll(dispatcherTasks);
        var elapsed = clock.Elapsed;

        var published = publisher.Published;
        var failures = publisher.Calls - published.Count;
        var distinct = published.Select(m => m.MessageId).Distinct().Count();
        var duplicates = published.Count - distinct;
        await using (var check = CreateContext(es => es.UseOutbox(Policy)))
        {
            var stored = await check.Set<EventSourcing.EFCore.Storage.StoredEvent>().Select(e => e.EventId).ToListAsync();
            var stats = await check.Outbox().GetStatsAsync();
            TestContext.Out.WriteLine(
                $"outbox soak: {messages} messages, {streams} streams, {producers} producers, {dispatchers} dispatchers; "
                + $"published {published.Count} ({distinct} distinct, {duplicates} duplicates), {failures} failed calls retried, "
                + $"per dispatcher [{string.Join(", ", perDispatcher)}]; producers done at {produced.TotalSeconds:0.0} s, "
                + $"all published at {elapsed.TotalSeconds:0.0} s ({distinct / elapsed.TotalSeconds:0} msg/s); dead letters {stats.DeadLetters}");

            Assert.That(stored, Has.Count.EqualTo(messages));
            Assert.That(published.Select(m => m.MessageId).ToHashSet().SetEquals(stored), Is.True, "every message published, none lost");
            Assert.That(stats.Pending + stats.DeadLetters, Is.Zero);
        }

        Assert.That(failures, Is.GreaterThan(0), "the publisher did fail some calls");
        Assert.That(duplicates, Is.Zero, "no message published by two live dispatchers");
        Assert.That(perDispatcher.Count(n => n > 0), Is.GreaterThan(1), "the dispatchers shared the work");
        var outOfOrder = published
            .GroupBy(m => m.StreamId)
            .Where(g => !g.Select(m => long.Parse(m.Headers[OutboxHeaders.Version], CultureInfo.InvariantCulture)).SequenceEqual(Enumerable.Range(1, perStream).Select(v => (long)v)))
            .Select(g => g.Key)
            .ToList();
        Assert.That(outOfOrder, Is.Empty, "each stream's messages in version order");
    }
}
