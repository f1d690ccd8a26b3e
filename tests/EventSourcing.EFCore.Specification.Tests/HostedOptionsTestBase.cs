using System.Globalization;
using System.Text.RegularExpressions;
using EventSourcing.EFCore.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// The hosted services' and health checks' options the .NET way: bound from configuration, they reach the running
/// services; an invalid value fails <c>host.StartAsync</c> with an <see cref="OptionsValidationException"/> naming it
/// (and the <c>Action</c> overloads throw at registration); each context has its own named options.
/// </summary>
public abstract partial class HostedOptionsTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    [Test]
    public virtual async Task Projection_host_options_bound_from_configuration_reach_the_hosted_service()
    {
        Assume.That(Fixture.SupportsConcurrentWriters, "the provider allows concurrent contexts");
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var batchSize = random.Next(3, 10);
        var threshold = TimeSpan.FromSeconds(random.Next(5, 120));
        var logs = new LogCollector();
        var options = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions(es => es.AddProjection<LedgerProjection>().AddProjection<BalanceProjection>()))
            .UseLoggerFactory(logs)
            .Options;
        var events = batchSize * 3 + 1;
        await SeedAsync(NewStream(), events);

        using var host = BuildHost(
            new()
            {
                ["EventSourcing:Projections:BatchSize"] = batchSize.ToString(CultureInfo.InvariantCulture),
                ["EventSourcing:Projections:MinPollInterval"] = "00:00:00.010",
                ["EventSourcing:Projections:MaxPollInterval"] = "00:00:00.050",
                ["EventSourcing:Projections:ReadHorizonStallThreshold"] = threshold.ToString("c", CultureInfo.InvariantCulture),
                ["EventSourcing:Projections:Projections:0"] = "ledger",
            },
            services =>
            {
                services.AddScoped(_ => new TestDbContext(options));
                services.AddEventSourcingProjections<TestDbContext>().BindConfiguration("EventSourcing:Projections");
                services.AddHealthChecks().AddEventSourcing<TestDbContext>();
            });
        await host.StartAsync();
        try
        {
            await WaitUntilAsync(async () =>
            {
                await using var db = new TestDbContext(options);
                return (await db.Projections().GetLagAsync("ledger")).IsCaughtUp;
            });
        }
        finally
        {
            await host.StopAsync();
        }

        var batches = logs.Entries
            .Where(e => e.EventId == EventSourcingEventId.ProjectionBatchApplied)
            .Select(e => BatchLog().Match(e.Message))
            .Where(m => m.Groups["projection"].Value == "ledger")
            .Select(m => int.Parse(m.Groups["count"].Value, CultureInfo.InvariantCulture))
            .ToList();
        Assert.That(batches.Sum(), Is.EqualTo(events));
        Assert.That(batches.Max(), Is.EqualTo(batchSize), "BatchSize from configuration: full batches of exactly that size");
        await using (var db = new TestDbContext(options))
        {
            Assert.That((await db.Projections().GetLagAsync("balances")).EventsBehind, Is.EqualTo(events), "Projections from configuration: only ledger runs");
        }

        var horizon = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(c => c.Name == "eventsourcing-read-horizon-TestDbContext");
        Assert.That(horizon.Entries.Single().Value.Data["thresholdSeconds"], Is.EqualTo(threshold.TotalSeconds), "the health check uses the bound stall threshold");
    }

    [Test]
    public virtual async Task Outbox_dispatcher_options_bound_from_configuration_reach_the_hosted_service()
    {
        var logs = new LogCollector();
        var options = Fixture.CreateOptions(es => es.UseOutbox(o => o.PublishAll("events")));
        var publisher = new RecordingPublisher();
        using var host = BuildHost(
            new()
            {
                ["EventSourcing:Outbox:PollingInterval"] = "00:00:00.020",
                ["EventSourcing:Outbox:StatsInterval"] = "00:00:00.050",
            },
            services =>
            {
                services.AddScoped(_ => new TestDbContext(options));
                services.AddSingleton(publisher);
                services.AddSingleton<ILoggerFactory>(logs);
                services.AddEventSourcingOutbox<TestDbContext, RecordingPublisher>().BindConfiguration("EventSourcing:Outbox");
            });
        await using (var db = new TestDbContext(options))
        {
            db.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(1));
            await db.SaveChangesAsync();
        }

        await host.StartAsync();
        try
        {
            // The default stats interval is one minute: three stats lines within seconds show the bound value is used.
            await WaitUntilAsync(() => Task.FromResult(logs.Entries.Count(e => e.EventId == EventSourcingEventId.OutboxStats) >= 3 && publisher.Published.Count == 1));
        }
        finally
        {
            await host.StopAsync();
        }

        Assert.That(publisher.Published, Has.Count.EqualTo(1));
    }

    [Test]
    public virtual async Task An_invalid_option_in_configuration_fails_host_start_naming_the_option_and_nothing_runs()
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var options = Fixture.CreateOptions(es => es.AddProjection<BalanceProjection>().UseOutbox(o => o.PublishAll("events")));
        await using (var seeding = new TestDbContext(options))
        {
            seeding.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(1));
            await seeding.SaveChangesAsync();
        }

        for (var i = 0; i < 15; i++)
        {
            var (section, key, type, value) = InvalidOption(random);
            TestContext.Out.WriteLine($"{section}:{key} = {value}");
            using var host = BuildHost(
                new() { [section + ":" + key] = value },
                services =>
                {
                    services.AddScoped(_ => new TestDbContext(options));
                    services.AddSingleton<RecordingPublisher>();
                    services.AddEventSourcingProjections<TestDbContext>().BindConfiguration("EventSourcing:Projections");
                    services.AddEventSourcingOutbox<TestDbContext, RecordingPublisher>().BindConfiguration("EventSourcing:Outbox");
                    services.AddHealthChecks().AddEventSourcing<TestDbContext>();
                    services.AddOptions<EventSourcingHealthCheckOptions>(typeof(TestDbContext).FullName).BindConfiguration("EventSourcing:HealthChecks");
                });
            var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
            Assert.That(ex!.Message, Does.Contain($"{type}.{key.Replace(':', '.')} is {value}"));
        }

        await using var db = new TestDbContext(options);
        Assert.That(await db.Set<ProjectionCheckpoint>().CountAsync(), Is.Zero, "no projection batch ran");
        Assert.That((await db.Outbox().GetStatsAsync()).Pending, Is.EqualTo(1), "no outbox dispatch ran");
    }

    [Test]
    public void An_invalid_option_set_through_the_Action_overloads_throws_at_registration_naming_it()
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        for (var i = 0; i < 30; i++)
        {
            var services = new ServiceCollection();
            var checks = services.AddHealthChecks();
            var negative = TimeSpan.FromMilliseconds(-random.Next(0, 100_000));
            var (option, register) = (i % 7) switch
            {
                0 => ("BatchSize", (Action)(() => services.AddEventSourcingProjections<TestDbContext>(o => o.BatchSize = -random.Next(0, 100)))),
                1 => ("MaxPollInterval", () => services.AddEventSourcingProjections<TestDbContext>(o => o.MaxPollInterval = negative)),
                2 => ("ReadHorizonStallThreshold", () => services.AddEventSourcingProjections<TestDbContext>(o => o.ReadHorizonStallThreshold = negative)),
                3 => ("StatsInterval", () => services.AddEventSourcingOutbox<TestDbContext, RecordingPublisher>(o => o.StatsInterval = negative)),
                4 => ("Projections.FailuresBeforeUnhealthy", () => checks.AddEventSourcing<TestDbContext>(o => o.Projections.FailuresBeforeUnhealthy = -random.Next(0, 5))),
                5 => ("Outbox.MaxPendingAge", () => checks.AddEventSourcing<TestDbContext>(o => o.Outbox.MaxPendingAge = negative)),
                _ => ("Projections.Name", () => checks.AddEventSourcing<TestDbContext>(o => o.Projections.Name = " ")),
            };
            var before = services.Count;
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => register());
            Assert.That(ex!.ParamName, Is.EqualTo("configure." + option));
            Assert.That(services, Has.Count.EqualTo(before), "nothing registered");
        }
    }

    [Test]
    public void Each_context_has_its_own_named_options()
    {
        var services = new ServiceCollection();
        services.AddEventSourcingProjections<TestDbContext>(o => o.BatchSize = 3);
        services.AddEventSourcingProjections<OtherDbContext>(o => o.BatchSize = 9);
        services.AddEventSourcingOutbox<TestDbContext, RecordingPublisher>(o => o.PollingInterval = TimeSpan.FromSeconds(3));
        using var provider = services.BuildServiceProvider();
        var projections = provider.GetRequiredService<IOptionsMonitor<ProjectionHostOptions>>();
        Assert.That(projections.Get(typeof(TestDbContext).FullName).BatchSize, Is.EqualTo(3));
        Assert.That(projections.Get(typeof(OtherDbContext).FullName).BatchSize, Is.EqualTo(9));
        Assert.That(projections.Get(Options.DefaultName).BatchSize, Is.EqualTo(ProjectionHostOptions.DefaultBatchSize));
        var outbox = provider.GetRequiredService<IOptionsMonitor<OutboxDispatcherOptions>>();
        Assert.That(outbox.Get(typeof(TestDbContext).FullName).PollingInterval, Is.EqualTo(TimeSpan.FromSeconds(3)));
        Assert.That(outbox.Get(typeof(OtherDbContext).FullName).PollingInterval, Is.EqualTo(TimeSpan.FromSeconds(1)));
    }

    private static (string Section, string Key, string Type, string Value) InvalidOption(Random random)
    {
        string Negative() => TimeSpan.FromMilliseconds(-random.Next(0, 100_000)).ToString("c", CultureInfo.InvariantCulture);
        string NegativeNumber() => (-random.Next(1, 1000)).ToString(CultureInfo.InvariantCulture);
        return random.Next(12) switch
        {
            0 => ("EventSourcing:Projections", "BatchSize", nameof(ProjectionHostOptions), (-random.Next(0, 1000)).ToString(CultureInfo.InvariantCulture)),
            1 => ("EventSourcing:Projections", "MinPollInterval", nameof(ProjectionHostOptions), Negative()),
            2 => ("EventSourcing:Projections", "MaxPollInterval", nameof(ProjectionHostOptions), Negative()),
            3 => ("EventSourcing:Projections", "RetryInterval", nameof(ProjectionHostOptions), Negative()),
            4 => ("EventSourcing:Projections", "ReadHorizonStallThreshold", nameof(ProjectionHostOptions), Negative()),
            5 => ("EventSourcing:Outbox", "PollingInterval", nameof(OutboxDispatcherOptions), Negative()),
            6 => ("EventSourcing:Outbox", "CleanupInterval", nameof(OutboxDispatcherOptions), Negative()),
            7 => ("EventSourcing:Outbox", "StatsInterval", nameof(OutboxDispatcherOptions), Negative()),
            8 => ("EventSourcing:HealthChecks", "Projections:MaxEventsBehind", nameof(EventSourcingHealthCheckOptions), NegativeNumber()),
            9 => ("EventSourcing:HealthChecks", "Projections:MaxTimeBehind", nameof(EventSourcingHealthCheckOptions), Negative()),
            10 => ("EventSourcing:HealthChecks", "Outbox:MaxDeadLetters", nameof(EventSourcingHealthCheckOptions), NegativeNumber()),
            _ => ("EventSourcing:HealthChecks", "Outbox:MaxPendingAge", nameof(EventSourcingHealthCheckOptions), Negative()),
        };
    }

    private static IHost BuildHost(Dictionary<string, string?> values, Action<IServiceCollection> configure)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddConfiguration(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        configure(builder.Services);
        return builder.Build();
    }

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

    [GeneratedRegex(@"^Projection (?<projection>\S+) applied (?<count>\d+) events")]
    private static partial Regex BatchLog();

    /// <summary>A second context type, only to show that each context has its own options.</summary>
    private sealed class OtherDbContext : DbContext;
}
