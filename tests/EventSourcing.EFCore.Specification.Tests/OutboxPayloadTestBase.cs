using System.Text.Json;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Outbox payloads as a consumer reads them: an event with a System.Text.Json polymorphic member round-trips through
/// the outbox on every provider (PostgreSQL's jsonb reorders the keys, so <c>$type</c> is no longer first: consumers
/// read with <c>AllowOutOfOrderMetadataProperties</c>, as the library does); and an outbox row the dispatcher cannot
/// read is never published: the attempt fails with the typed <see cref="EventDeserializationException"/>, which the
/// row records, and it is dead-lettered after its attempts like any failed publish.
/// </summary>
public abstract class OutboxPayloadTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    /// <summary>What a consumer configures: the library's default options, reading metadata properties in any key order.</summary>
    private static readonly JsonSerializerOptions ConsumerOptions = new(JsonSerializerDefaults.Web) { AllowOutOfOrderMetadataProperties = true };

    [Test]
    public async Task A_polymorphic_payload_round_trips_through_the_outbox([Values] bool async)
    {
        var seed = Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var stream = NewStream("wallet");
        var sent = Enumerable.Range(0, 6)
            .Select(i => new Paid(
                Math.Round((decimal)random.NextDouble() * 1000, 2),
                random.Next(2) == 0
                    ? new Card(random.NextInt64(1_000_000_000_000, 9_999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture), random.Next(1, 1299))
                    : new BankTransfer("DE" + random.Next(10_000_000, 99_999_999) + " é\u00e8\U0001F600")))
            .ToList();
        await using (var db = Outbox(o => o.Publish<Paid>("payments")))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, [.. sent]);
            await SaveAsync(db, async);
        }

        var publisher = new RecordingPublisher();
        await using (var db = Outbox(o => o.Publish<Paid>("payments")))
        {
            Assert.That(await db.Outbox().DispatchPendingAsync(publisher), Is.EqualTo(sent.Count));
        }

        var received = publisher.PublishedTo("payments").Select(m => JsonSerializer.Deserialize<Paid>(m.Payload, ConsumerOptions)).ToList();
        Assert.That(received, Is.EqualTo(sent), "what the consumer reads is what was appended");
        Assert.That(publisher.Published.Select(m => m.Headers[OutboxHeaders.EventType]), Has.All.EqualTo("test.paid"));
    }

    [Test]
    public async Task An_outbox_row_that_cannot_be_read_fails_with_EventDeserializationException_and_is_dead_lettered_not_published()
    {
        var stream = NewStream();
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").MaxAttempts(2).RetryBackoff(TimeSpan.Zero, TimeSpan.Zero);
        await using (var db = Outbox(policy))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            await db.SaveChangesAsync();
        }

        // A row staged by another service sharing the table, under a type name this release does not know. With upcasting
        // configured the dispatcher reads each row's type (to upcast it) before publishing.
        await using (var db = CreateContext())
        {
            var row = await db.Set<StoredOutboxMessage>().OrderBy(o => o.Id).FirstAsync();
            row.EventType = "test.unheard-of";
            await db.SaveChangesAsync();
        }

        var publisher = new RecordingPublisher();
        await using (var db = CreateContext(es => es.UseOutbox(policy).DeclareObsolete("test.retired")))
        {
            await db.Outbox().DispatchPendingAsync(publisher);
            await db.Outbox().DispatchPendingAsync(publisher);
            var deadLetters = await db.Outbox().GetDeadLettersAsync();
            Assert.That(deadLetters, Has.Count.EqualTo(1));
            Assert.That(deadLetters[0].LastError, Does.StartWith(typeof(EventDeserializationException).FullName!).And.Contain(stream.ToString()).And.Contain("test.unheard-of"));
            Assert.That(deadLetters[0].Attempts, Is.EqualTo(2));
        }

        Assert.That(publisher.Published.Select(m => m.Headers[OutboxHeaders.Version]), Is.EqualTo(new[] { "2" }), "only the readable row was published");
    }

    [Test]
    public async Task A_dead_letter_whose_headers_were_changed_outside_the_library_is_listed_with_EventDeserializationException([Values] bool async)
    {
        var stream = NewStream();
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").MaxAttempts(1).RetryBackoff(TimeSpan.Zero, TimeSpan.Zero);
        await using (var db = Outbox(policy))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1));
            await db.SaveChangesAsync();
            await db.Outbox().DispatchPendingAsync(new RecordingPublisher { Fail = _ => new IOException("broker down") });
            Assert.That(await db.Outbox().GetDeadLettersAsync(), Has.Count.EqualTo(1));
        }

        // valid JSON (a jsonb column accepts it), but not the object of strings the library writes
        await using (var db = CreateContext())
        {
            var row = await db.Set<StoredOutboxMessage>().SingleAsync();
            row.Headers = "[1, 2]";
            if (async)
            {
                await db.SaveChangesAsync();
            }
            else
            {
                db.SaveChanges();
            }
        }

        await using (var db = Outbox(policy))
        {
            var ex = Assert.ThrowsAsync<EventDeserializationException>(() => db.Outbox().GetDeadLettersAsync());
            Assert.That(ex!.StreamId, Is.EqualTo(stream));
            Assert.That(ex.Version, Is.EqualTo(1));
            Assert.That(ex.Message, Does.Contain("headers").And.Contain(stream.ToString()));
            Assert.That(ex.InnerException, Is.InstanceOf<JsonException>());
        }
    }

    private TestDbContext Outbox(Action<OutboxOptionsBuilder> outbox) => CreateContext(es => es.UseOutbox(outbox));
}
