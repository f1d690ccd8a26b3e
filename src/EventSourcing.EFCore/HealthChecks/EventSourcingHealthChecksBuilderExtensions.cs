using EventSourcing.EFCore.HealthChecks.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers EventSourcing.EFCore's health checks.</summary>
public static class EventSourcingHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds the health checks of <typeparamref name="TContext"/>'s event store: catch-up projections (lag, failures), the
    /// read-all horizon (a transaction holding the store back, PostgreSQL) and the outbox (dead letters, oldest pending
    /// message). Each reports <c>Healthy</c>, <c>Degraded</c> or <c>Unhealthy</c> as described on its options, with the
    /// figures in the result's <c>Data</c>. The options are named options (the context's full type name), validated at
    /// start-up; names, tags and thresholds may also be bound from configuration.
    /// </summary>
    /// <typeparam name="TContext">The DbContext, registered with <c>AddDbContext</c>, <c>AddDbContextPool</c> or <c>AddDbContextFactory</c>.</typeparam>
    /// <param name="builder">The health checks builder from <c>services.AddHealthChecks()</c>.</param>
    /// <param name="configure">Sets the names, tags and thresholds, or <see langword="null"/> for the defaults.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A threshold is out of range; the exception names it (<c>configure.Outbox.MaxPendingAge</c>).</exception>
    public static IHealthChecksBuilder AddEventSourcing<TContext>(this IHealthChecksBuilder builder, Action<EventSourcingHealthCheckOptions>? configure = null)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(builder);
        ValidatedOptions.ThrowIfInvalid(configure, EventSourcingHealthCheckOptionsRules.Check);
        var name = ValidatedOptions.NameOf<TContext>();
        var options = ValidatedOptions.Add<EventSourcingHealthCheckOptions>(builder.Services, name, EventSourcingHealthCheckOptionsRules.Check);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // The registrations are made when the health check service's options are built, so that names, tags and the
        // enabled flags bound from configuration count.
        builder.Services.AddOptions<HealthCheckServiceOptions>().Configure<IOptionsMonitor<EventSourcingHealthCheckOptions>>((service, monitor) =>
        {
            var o = monitor.Get(name);
            Register(service, typeof(TContext), o.Projections, (provider, _) => new ProjectionsHealthCheck<TContext>(provider, o.Projections));
            Register(service, typeof(TContext), o.ReadHorizon, (provider, _) => new ReadHorizonHealthCheck<TContext>(
                provider, provider.GetRequiredService<IOptionsMonitor<ProjectionHostOptions>>().Get(name).ReadHorizonStallThreshold));
            Register(service, typeof(TContext), o.Outbox, (provider, _) => new OutboxHealthCheck<TContext>(provider, o.Outbox));
        });
        return builder;
    }

    private static void Register(
        HealthCheckServiceOptions service, Type contextType, EventSourcingHealthCheckRegistration check, Func<IServiceProvider, EventSourcingHealthCheckRegistration, IHealthCheck> create)
    {
        if (check.Enabled)
        {
            service.Registrations.Add(new HealthCheckRegistration(
                check.NameFor(contextType), provider => create(provider, check), HealthStatus.Unhealthy, check.Tags, check.Timeout));
        }
    }
}
