using EventSourcing.EFCore.Projections.Internal;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: a transaction the test holds open keeps read-all back; once it has been open for the configured
/// <see cref="ProjectionHostOptions.ReadHorizonStallThreshold"/>, the read-horizon health check turns Degraded naming the
/// holder and the hosted projections log the warning with the same threshold; both clear when it commits.
/// </summary>
public sealed class ReadHorizonHealthCheckNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    private const string Check = "eventsourcing-read-horizon-TestDbContext";

    [Test]
    public async Task The_read_horizon_check_turns_degraded_naming_the_holder_after_the_stall_threshold_and_healthy_when_it_ends()
    {
        var threshold = TimeSpan.FromSeconds(1);
        var log = new List<(EventId Id, string Message)>();
        var options = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions(es => es.AddProjection<BalanceProjection>()))
            .UseLoggerFactory(new CapturingLoggerFactory(log))
            .Options;
        var services = new ServiceCollection().AddLogging();
        services.AddScoped(_ => new TestDbContext(options));
        services.AddEventSourcingProjections<TestDbContext>(o =>
        {
            o.MinPollInterval = TimeSpan.FromMilliseconds(20);
            o.MaxPollInterval = TimeSpan.FromMilliseconds(100);
            o.ReadHorizonStallThreshold = threshold;
        });
        services.AddHealthChecks().AddEventSourcing<TestDbContext>();
        await using var provider = services.BuildServiceProvider();
        var health = provider.GetRequiredService<HealthCheckService>();
        var host = provider.GetServices<IHostedService>().OfType<ProjectionHostedService<TestDbContext>>().Single();

        var connectionString = new NpgsqlConnectionStringBuilder(Fixture.ConnectionString) { ApplicationName = "horizon-health", Pooling = false }.ConnectionString;
        await using var holder = new NpgsqlConnection(connectionString);
        await holder.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await using (var assign = new NpgsqlCommand("SELECT pg_current_xact_id()", holder, transaction))
        {
            await assign.ExecuteScalarAsync(); // the transaction now has an id: read-all waits for it
        }

        var stream = NewStream();
        await SeedAsync(stream, 1);
        await host.StartAsync(CancellationToken.None);
        try
        {
            var entry = (await health.CheckHealthAsync(c => c.Name == Check)).Entries[Check];
            var watch = System.Diagnostics.Stopwatch.StartNew();
            while (entry.Status == HealthStatus.Healthy && watch.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50);
                entry = (await health.CheckHealthAsync(c => c.Name == Check)).Entries[Check];
            }

            Assert.That(entry.Status, Is.EqualTo(HealthStatus.Degraded), entry.Description);
            Assert.That(entry.Data["processId"], Is.EqualTo(holder.ProcessID));
            Assert.That(entry.Data["applicationName"], Is.EqualTo("horizon-health"));
            Assert.That(entry.Data["database"], Is.EqualTo(holder.Database));
            Assert.That(entry.Data["state"], Is.EqualTo("idle in transaction"));
            Assert.That((double)entry.Data["transactionAgeSeconds"], Is.GreaterThanOrEqualTo(threshold.TotalSeconds));
            Assert.That(entry.Data["projection"], Is.EqualTo("balances"));
            Assert.That(entry.Description, Does.Contain("horizon-health"));

            while (!Logged() && watch.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50);
            }

            Assert.That(Logged(), Is.True, "the hosted projections warn with the same threshold");
            Assert.That(await BalanceAsync(stream), Is.Null, "the event waits behind the held transaction");

            await transaction.CommitAsync();
            while (await BalanceAsync(stream) is null && watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50);
            }

            var after = (await health.CheckHealthAsync(c => c.Name == Check)).Entries[Check];
            Assert.That(after.Status, Is.EqualTo(HealthStatus.Healthy), after.Description);
            Assert.That(await BalanceAsync(stream), Is.EqualTo(1m));
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }

        bool Logged()
        {
            lock (log)
            {
                return log.Any(l => l.Id == EventSourcingEventId.ReadHorizonHeldBack && l.Message.Contains("horizon-health", StringComparison.Ordinal));
            }
        }
    }

    private async Task<decimal?> BalanceAsync(StreamId stream)
    {
        await using var db = CreateContext();
        var key = stream.ToString();
        return await db.Set<AccountBalance>().Where(b => b.Projection == "balances" && b.Stream == key).Select(b => (decimal?)b.Balance).SingleOrDefaultAsync();
    }
}
