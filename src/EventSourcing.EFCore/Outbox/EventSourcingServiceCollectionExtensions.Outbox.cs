using EventSourcing.EFCore.OutboxInternal;
using EventSourcing.EFCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers event sourcing services in an application's service collection.</summary>
public static partial class EventSourcingServiceCollectionExtensions
{
    /// <summary>
    /// Runs the transactional outbox of <typeparamref name="TContext"/> as a hosted service that hands committed
    /// messages to <typeparamref name="TPublisher"/>. The context must be configured with
    /// <c>UseEventSourcing(es => es.UseOutbox(…))</c> and registered (<c>AddDbContext</c>, <c>AddDbContextPool</c> or
    /// <c>AddDbContextFactory</c>). Each registration adds one dispatcher; on PostgreSQL several (in one process or
    /// several) share the work safely.
    /// </summary>
    /// <typeparam name="TContext">The DbContext whose outbox is dispatched.</typeparam>
    /// <typeparam name="TPublisher">The publisher; registered as scoped unless already registered.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the polling, cleanup and stats intervals, or <see langword="null"/> for the defaults.</param>
    /// <returns>The same service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An interval is zero or negative.</exception>
    public static IServiceCollection AddEventSourcingOutbox<TContext, TPublisher>(
        this IServiceCollection services, Action<OutboxDispatcherOptions>? configure = null)
        where TContext : DbContext
        where TPublisher : class, IOutboxPublisher
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new OutboxDispatcherOptions();
        configure?.Invoke(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.PollingInterval, TimeSpan.Zero, "configure." + nameof(OutboxDispatcherOptions.PollingInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.CleanupInterval, TimeSpan.Zero, "configure." + nameof(OutboxDispatcherOptions.CleanupInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.StatsInterval, TimeSpan.Zero, "configure." + nameof(OutboxDispatcherOptions.StatsInterval));

        services.TryAddScoped<TPublisher>();
        services.AddSingleton<IHostedService>(p => new OutboxDispatcher<TContext, TPublisher>(
            p.GetRequiredService<IServiceScopeFactory>(),
            options,
            p.GetService<ILoggerFactory>()?.CreateLogger(EventSourcingLoggerCategory.Outbox) ?? NullLogger.Instance));
        return services;
    }
}
