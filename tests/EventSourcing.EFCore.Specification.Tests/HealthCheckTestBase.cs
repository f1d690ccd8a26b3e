using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Projections.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// The health checks of <c>services.AddHealthChecks().AddEventSourcing&lt;TContext&gt;()</c>: each turns Degraded or
/// Unhealthy under the condition it watches, with the figures in its data, and back to Healthy when the condition ends.
/// The read-horizon check's Degraded state needs PostgreSQL (a held transaction) and is covered there.
/// </summary>
public abstract class HealthCheckTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private const string Projections = "eventsourcing-projections-TestDbContext";
    private const string Horizon = "eventsourcing-read-horizon-TestDbContext";
    private const string OutboxCheck = "eventsourcing-outbox-TestDbContext";

    [Test]
    public virtual async Task The_projections_check_is_degraded_while_a_projection_is_more_events_behind_than_allowed()
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var limit = random.Next(1, 20);
        var options = Fixture.CreateOptions(CatchUpBalances);
        await using var provider = Build(options, o => o.Projections.MaxEventsBehind = limit);
        var stream = NewStream();

        await SeedAsync(stream, limit);
        var atLimit = await CheckAsync(provider, Projections);
        Assert.That(atLimit.Status, Is.EqualTo(HealthStatus.Healthy), "exactly at the limit is still healthy");
        Assert.That(atLimit.Data["balances.eventsBehind"], Is.EqualTo((long)limit));

        await SeedAsync(stream, random.Next(1, 10));
        var behind = await CheckAsync(provider, Projections);
        Assert.That(behind.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That((long)behind.Data["balances.eventsBehind"], Is.GreaterThan(limit));
        Assert.That(behind.Description, Does.Contain("balances"));

        await using (var db = new TestDbContext(options))
        {
            await db.Projections().CatchUpAsync("balances");
        }

        var caughtUp = await CheckAsync(provider, Projections);
        Assert.That(caughtUp.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(caughtUp.Data["balances.eventsBehind"], Is.EqualTo(0L));
    }

    [Test]
    public virtual async Task The_projections_check_is_degraded_while_a_projection_is_further_behind_in_time_than_allowed()
    {
        var clock = new ManualClock();
        var options = Fixture.CreateOptions(es => es.UseTimeProvider(clock).AddProjection<BalanceProjection>());
        await using var provider = Build(options, o => o.Projections.MaxTimeBehind = TimeSpan.FromMinutes(2));
        await using (var db = new TestDbContext(options))
        {
            db.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(1));
            await db.SaveChangesAsync();
        }

        Assert.That((await CheckAsync(provider, Projections)).Status, Is.EqualTo(HealthStatus.Healthy));
        clock.Advance(TimeSpan.FromMinutes(3));
        var late = await CheckAsync(provider, Projections);
        Assert.That(late.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That((double)late.Data["balances.secondsBehind"], Is.GreaterThanOrEqualTo(180));

        await using (var db = new TestDbContext(options))
        {
            await db.Projections().CatchUpAsync("balances");
        }

        Assert.That((await CheckAsync(provider, Projections)).Status, Is.EqualTo(HealthStatus.Healthy));
    }

    [Test]
    public virtual async Task The_projections_check_is_unhealthy_while_a_projection_is_stopped_on_an_error_and_healthy_once_it_runs_again()
    {
        Assume.That(Fixture.SupportsConcurrentWriters, "the provider allows concurrent contexts");
        var broken = new StrongBox<bool>(true);
        var options = Fixture.CreateOptions(es => es.AddProjection<TestDbContext>("flaky", p => p.On<Deposited>((_, _, _) =>
        {
            if (broken.Value)
            {
                throw new InvalidOperationException("flaky handler");
            }
        })));
        var services = new ServiceCollection().AddLogging();
        services.AddScoped(_ => new TestDbContext(options));
        services.AddEventSourcingProjections<TestDbContext>(o =>
        {
            o.MinPollInterval = TimeSpan.FromMilliseconds(10);
            o.MaxPollInterval = TimeSpan.FromMilliseconds(50);
            o.RetryInterval = TimeSpan.FromMilliseconds(50);
        });
        services.AddHealthChecks().AddEventSourcing<TestDbContext>(o => o.Projections.MaxEventsBehind = 100);
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetServices<IHostedService>().OfType<ProjectionHostedService<TestDbContext>>().Single();
        await SeedAsync(NewStream(), 3);

        await host.StartAsync(CancellationToken.None);
        try
        {
            HealthReportEntry report = default;
            await WaitUntilAsync(async () => (report = await CheckAsync(provider, Projections)).Status == HealthStatus.Unhealthy);
            Assert.That(report.Data["flaky.error"], Does.Contain(nameof(ProjectionFailedException)));
            Assert.That((int)report.Data["flaky.consecutiveFailures"], Is.GreaterThanOrEqualTo(1));
            Assert.That(report.Description, Does.Contain("flaky").And.Contain("stopped"));

            broken.Value = false;
            // Healthy and caught up (a check may read the lag just before the batch that succeeds commits).
            await WaitUntilAsync(async () => (report = await CheckAsync(provider, Projections)).Status == HealthStatus.Healthy
                                             && (long)report.Data["flaky.eventsBehind"] == 0);
            Assert.That(report.Data.ContainsKey("flaky.error"), Is.False);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    [Test]
    public virtual async Task The_outbox_check_is_degraded_while_dead_letters_wait_and_healthy_once_they_are_requeued_and_published()
    {
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").MaxAttempts(1);
        var options = Fixture.CreateOptions(es => es.UseOutbox(policy));
        await using var provider = Build(options);
        await using (var db = new TestDbContext(options))
        {
            db.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            await db.SaveChangesAsync();
        }

        await using (var db = new TestDbContext(options))
        {
            await db.Outbox().DispatchPendingAsync(new RecordingPublisher { Fail = m => m.Headers[OutboxHeaders.Version] == "1" ? new IOException("poison") : null });
        }

        var dead = await CheckAsync(provider, OutboxCheck);
        Assert.That(dead.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(dead.Data["deadLetters"], Is.EqualTo(1L));
        Assert.That(dead.Description, Does.Contain("dead letter"));

        await using (var db = new TestDbContext(options))
        {
            Assert.That(await db.Outbox().RequeueDeadLettersAsync(), Is.EqualTo(1));
            Assert.That(await db.Outbox().DispatchPendingAsync(new RecordingPublisher()), Is.EqualTo(1));
        }

        var healthy = await CheckAsync(provider, OutboxCheck);
        Assert.That(healthy.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(healthy.Data["deadLetters"], Is.EqualTo(0L));
    }

    [Test]
    public virtual async Task The_outbox_check_is_degraded_while_the_oldest_pending_message_is_older_than_allowed()
    {
        var options = Fixture.CreateOptions(es => es.UseOutbox(o => o.PublishAll("events")));
        await using var provider = Build(options, o => o.Outbox.MaxPendingAge = TimeSpan.FromMinutes(1));
        await using (var db = new TestDbContext(options))
        {
            db.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(1));
            await db.SaveChangesAsync();
        }

        Assert.That((await CheckAsync(provider, OutboxCheck)).Status, Is.EqualTo(HealthStatus.Healthy));
        await using (var db = new TestDbContext(options))
        {
            // The message has waited two minutes (the age is read on the database's clock, so the row is moved back).
            var row = await db.Set<StoredOutboxMessage>().SingleAsync();
            row.CreatedAt -= TimeSpan.FromMinutes(2);
            await db.SaveChangesAsync();
        }

        var late = await CheckAsync(provider, OutboxCheck);
        Assert.That(late.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That((double)late.Data["oldestPendingAgeSeconds"], Is.GreaterThanOrEqualTo(120));
        Assert.That(late.Data["pending"], Is.EqualTo(1L));

        await using (var db = new TestDbContext(options))
        {
            await db.Outbox().DispatchPendingAsync(new RecordingPublisher());
        }

        Assert.That((await CheckAsync(provider, OutboxCheck)).Status, Is.EqualTo(HealthStatus.Healthy));
    }

    [Test]
    public virtual async Task Names_tags_and_enabled_flags_are_options_and_a_context_without_outbox_is_reported_as_such()
    {
        var options = Fixture.CreateOptions(CatchUpBalances);
        var services = new ServiceCollection().AddLogging();
        services.AddScoped(_ => new TestDbContext(options));
        services.AddHealthChecks().AddEventSourcing<TestDbContext>(o =>
        {
            o.Projections.Name = "projections";
            o.Projections.Tags.Add("ready");
            o.ReadHorizon.Enabled = false;
        });
        await using var provider = services.BuildServiceProvider();
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.That(report.Entries.Keys, Is.EquivalentTo(new[] { "projections", OutboxCheck }));
        Assert.That(report.Entries["projections"].Tags, Is.EquivalentTo(new[] { "eventsourcing", "ready" }));
        Assert.That(report.Entries[OutboxCheck].Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(report.Entries[OutboxCheck].Description, Does.Contain("no outbox"));

        var ready = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(c => c.Tags.Contains("ready"));
        Assert.That(ready.Entries.Keys, Is.EqualTo(new[] { "projections" }), "tags filter readiness from liveness");
    }

    [Test]
    public virtual async Task The_read_horizon_check_is_healthy_when_nothing_holds_read_all_back()
    {
        var options = Fixture.CreateOptions(CatchUpBalances);
        await using var provider = Build(options);
        await SeedAsync(NewStream(), 2);
        var report = await CheckAsync(provider, Horizon);
        Assert.That(report.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(report.Data["thresholdSeconds"], Is.EqualTo(30d), "the default stall threshold of ProjectionHostOptions");
    }

    /// <summary>A provider with the context and its health checks; no hosted service.</summary>
    protected static ServiceProvider Build(DbContextOptions<TestDbContext> options, Action<EventSourcingHealthCheckOptions>? configure = null, Action<IServiceCollection>? more = null)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddScoped(_ => new TestDbContext(options));
        services.AddHealthChecks().AddEventSourcing<TestDbContext>(configure);
        more?.Invoke(services);
        return services.BuildServiceProvider();
    }

    /// <summary>Runs the health checks and returns the entry of one.</summary>
    protected static async Task<HealthReportEntry> CheckAsync(IServiceProvider provider, string name)
    {
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(c => c.Name == name);
        var entry = report.Entries[name];
        Assert.That(entry.Exception, Is.Null, () => entry.Exception!.ToString());
        return entry;
    }

    protected static void CatchUpBalances(EventSourcingDbContextOptionsBuilder es) => es.AddProjection<BalanceProjection>();

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, int timeoutSeconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"The condition was not met within {timeoutSeconds} s.");
            }

            await Task.Delay(20);
        }
    }

    private sealed class StrongBox<T>(T value)
    {
        public T Value { get; set; } = value;
    }
}
