using EventSourcing.EFCore.Projections.Internal;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

/// <summary>
/// The projections health check and the failures the hosted runner records: a projection whose batches fail for another
/// reason than a handler (a database or network error) is Degraded until it has failed
/// <see cref="ProjectionsHealthCheckOptions.FailuresBeforeUnhealthy"/> batches in a row, then Unhealthy, and Healthy again
/// after one successful batch. (A handler failure, which stops the projection, is covered by the specification suite.)
/// </summary>
public sealed class ProjectionFailuresHealthTests
{
    [Test]
    public async Task A_projection_failing_repeatedly_is_degraded_then_unhealthy_after_the_threshold_and_healthy_after_a_success()
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var threshold = random.Next(1, 6);
        var options = new DbContextOptionsBuilder<UnitDbContext>()
            .UseInMemoryDatabase(Guid.NewGuid().ToString())
            .UseEventSourcing(es => es.AddProjection<UnitDbContext>("orders", p => p.On<ProjectionTests.Placed>((_, _, _) => { })))
            .Options;
        var services = new ServiceCollection().AddLogging();
        services.AddScoped(_ => new UnitDbContext(options));
        services.AddEventSourcingProjections<UnitDbContext>();
        services.AddHealthChecks().AddEventSourcing<UnitDbContext>(o => o.Projections.FailuresBeforeUnhealthy = threshold);
        await using var provider = services.BuildServiceProvider();
        var failures = provider.GetRequiredService<ProjectionFailures<UnitDbContext>>();
        var health = provider.GetRequiredService<HealthCheckService>();
        const string name = "eventsourcing-projections-UnitDbContext";

        Assert.That((await health.CheckHealthAsync(c => c.Name == name)).Entries[name].Status, Is.EqualTo(HealthStatus.Healthy));
        for (var failed = 1; failed <= threshold + 2; failed++)
        {
            failures.Failed("orders", new IOException("connection reset " + failed), DateTimeOffset.UtcNow);
            var entry = (await health.CheckHealthAsync(c => c.Name == name)).Entries[name];
            Assert.That(entry.Status, Is.EqualTo(failed < threshold ? HealthStatus.Degraded : HealthStatus.Unhealthy), $"after {failed} failures (threshold {threshold})");
            Assert.That(entry.Data["orders.consecutiveFailures"], Is.EqualTo(failed));
            Assert.That(entry.Data["orders.error"], Is.EqualTo($"IOException: connection reset {failed}"));
        }

        failures.Succeeded("orders");
        var recovered = (await health.CheckHealthAsync(c => c.Name == name)).Entries[name];
        Assert.That(recovered.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(recovered.Data.ContainsKey("orders.consecutiveFailures"), Is.False);
    }
}
