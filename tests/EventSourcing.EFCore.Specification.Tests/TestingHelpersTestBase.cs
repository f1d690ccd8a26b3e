using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// The test helpers of the EventSourcing.EFCore.Testing package against a real store: WaitForProjectionsAsync and the
/// recording outbox publisher (aggregate specifications need no store: see the unit tests).
/// </summary>
public abstract class TestingHelpersTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    [Test]
    public virtual async Task WaitForProjectionsAsync_returns_once_the_hosted_runner_has_applied_every_event()
    {
        Assume.That(Fixture.SupportsConcurrentWriters, "the provider allows concurrent contexts");
        var seed = Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var options = Fixture.CreateOptions(es => es.AddProjection<BalanceProjection>().AddProjection<LedgerProjection>());
        var services = new ServiceCollection();
        services.AddScoped(_ => new TestDbContext(options));
        services.AddEventSourcingProjections<TestDbContext>(o =>
        {
            o.MinPollInterval = TimeSpan.FromMilliseconds(10);
            o.MaxPollInterval = TimeSpan.FromMilliseconds(50);
        });
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetServices<IHostedService>().Single();
        var expected = new Dictionary<StreamId, decimal>();
        await host.StartAsync(CancellationToken.None);
        try
        {
            for (var round = 0; round < 3; round++)
            {
                await using (var db = new TestDbContext(options))
                {
                    foreach (var _ in Enumerable.Range(0, random.Next(1, 5)))
                    {
                        var stream = NewStream();
                        var amounts = Enumerable.Range(0, random.Next(1, 20)).Select(_ => (decimal)random.Next(1, 1000)).ToArray();
                        db.Events().Append(stream, ExpectedVersion.NoStream, amounts.Select(a => (object)new Deposited(a)).ToArray());
                        expected[stream] = amounts.Sum();
                    }

                    await db.SaveChangesAsync();
                }

                await using (var db = new TestDbContext(options))
                {
                    await db.WaitForProjectionsAsync(TimeSpan.FromSeconds(30));
                    var balances = await db.Set<AccountBalance>().AsNoTracking().Where(b => b.Projection == "balances").ToListAsync();
                    Assert.That(
                        balances.ToDictionary(b => b.Stream, b => b.Balance),
                        Is.EquivalentTo(expected.ToDictionary(e => e.Key.ToString(), e => e.Value)),
                        $"round {round}: once the wait returns, the read model has every committed event");
                    Assert.That((await db.Projections().GetLagAsync("ledger")).IsCaughtUp, Is.True);
                }
            }
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    [Test]
    public virtual async Task WaitForProjectionsAsync_times_out_naming_the_projection_that_is_behind()
    {
        var options = Fixture.CreateOptions(es => es.AddProjection<BalanceProjection>().AddProjection<LedgerProjection>());
        var stream = NewStream();
        await using (var db = new TestDbContext(options))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2), new Deposited(3));
            await db.SaveChangesAsync();
            Assert.That(await db.Projections().CatchUpAsync("ledger"), Is.EqualTo(3));
        }

        await using (var db = new TestDbContext(options))
        {
            var error = Assert.ThrowsAsync<TimeoutException>(() => db.WaitForProjectionsAsync(TimeSpan.FromMilliseconds(200)));
            Assert.That(error!.Message, Does.Contain("'balances' is 3 event(s) behind"));
            Assert.That(error.Message, Does.Not.Contain("'ledger'"), "a caught-up projection is not named");

            await db.Projections().CatchUpAsync("balances");
            Assert.DoesNotThrowAsync(() => db.WaitForProjectionsAsync(TimeSpan.Zero), "caught up: returns on the first look, even with no time left");
        }
    }

    [Test]
    public virtual async Task WaitForProjectionsAsync_needs_a_catch_up_projection()
    {
        await using var db = CreateContext(es => es.AddInlineProjection(new BalanceProjection("inline")));
        var error = Assert.ThrowsAsync<InvalidOperationException>(() => db.WaitForProjectionsAsync());
        Assert.That(error!.Message, Does.Contain("AddProjection"));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => db.WaitForProjectionsAsync(TimeSpan.FromSeconds(-1)));
    }

    [Test]
    public virtual async Task The_recording_publisher_records_what_it_accepts_in_order_and_not_what_it_fails([Values] bool async)
    {
        var seed = Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var stream = NewStream();
        var amounts = Enumerable.Range(1, 999).OrderBy(_ => random.Next()).Take(random.Next(2, 30)).Select(a => (decimal)a).ToArray(); // distinct
        var rejected = amounts[random.Next(amounts.Length)];
        bool IsRejected(OutboxMessage m) => System.Text.Json.JsonDocument.Parse(m.Payload).RootElement.GetProperty("amount").GetDecimal() == rejected;
        void Routes(OutboxOptionsBuilder o) => o.Publish<Deposited>("deposits").PublishAll("audit").RetryBackoff(TimeSpan.Zero, TimeSpan.Zero);
        await using (var db = CreateContext(es => es.UseOutbox(Routes)))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, amounts.Select(a => (object)new Deposited(a)).ToArray());
            await SaveAsync(db, async);
        }

        var publisher = new RecordingOutboxPublisher
        {
            Fail = m => m.Destination == "deposits" && IsRejected(m) && m.Attempt == 1
                ? new IOException("broker rejected the first attempt")
                : null,
        };
        await using (var db = CreateContext(es => es.UseOutbox(Routes)))
        {
            var published = 0;
            for (var round = 0; round < 5; round++) // the rejected message is retried in a later round (no backoff)
            {
                published += await db.Outbox().DispatchPendingAsync(publisher);
            }

            Assert.That(published, Is.EqualTo(2 * amounts.Length));
        }

        Assert.That(publisher.Calls, Is.EqualTo(2 * amounts.Length + 1), "every call counted, the failed one included");
        Assert.That(publisher.Published, Has.Count.EqualTo(2 * amounts.Length), "failed calls are not recorded");
        Assert.That(publisher.PublishedTo("audit").Select(m => m.Headers[OutboxHeaders.Version]), Is.EqualTo(amounts.Select((_, i) => (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture))));
        Assert.That(publisher.PublishedTo("deposits").Select(m => m.MessageId), Is.EquivalentTo(publisher.PublishedTo("audit").Select(m => m.MessageId)));
        Assert.That(publisher.PublishedTo("deposits").Where(IsRejected).Select(m => m.Attempt), Is.All.EqualTo(2));

        publisher.Clear();
        Assert.That((publisher.Published.Count, publisher.Calls), Is.EqualTo((0, 0)));
    }
}
