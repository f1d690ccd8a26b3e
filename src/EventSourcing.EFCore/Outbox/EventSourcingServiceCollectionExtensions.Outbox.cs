using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.OutboxInternal;
using EventSourcing.EFCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers event sourcing services in an application's service collection.</summary>
public static partial class EventSourcingServiceCollectionExtensions
{
    /// <summary>
    /// Runs the transactional outbox of <typeparamref name="TContext"/> as a hosted service that hands committed
    /// messages to <typeparamref name="TPublisher"/>. The context must be configured with
    /// <c>UseEventSourcing(es => es.UseOutbox(…))</c> and registered (<c>AddDbContext</c>, <c>AddDbContextPool</c> or
    /// <c>AddDbContextFactory</c>). Each registration adds one dispatcher; on PostgreSQL several (in one process or
    /// several) share the work safely. Its <see cref="OutboxDispatcherOptions"/> are named options (the context's full
    /// type name, shared by the dispatchers of one context), validated at start-up; configure them on the returned
    /// builder, for example <c>.BindConfiguration("EventSourcing:Outbox")</c>.
    /// </summary>
    /// <typeparam name="TContext">The DbContext whose outbox is dispatched.</typeparam>
    /// <typeparam name="TPublisher">The publisher; registered as scoped unless already registered.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <returns>The builder of the dispatcher's options.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static OptionsBuilder<OutboxDispatcherOptions> AddEventSourcingOutbox<TContext, TPublisher>(this IServiceCollection services)
        where TContext : DbContext
        where TPublisher : class, IOutboxPublisher
    {
        ArgumentNullException.ThrowIfNull(services);
        var name = ValidatedOptions.NameOf<TContext>();
        var options = ValidatedOptions.Add<OutboxDispatcherOptions>(services, name, OutboxDispatcherOptionsRules.Check);
        services.TryAddScoped<TPublisher>();
        services.AddSingleton<IHostedService>(p => new OutboxDispatcher<TContext, TPublisher>(
            p.GetRequiredService<IServiceScopeFactory>(),
            p.GetRequiredService<IOptionsMonitor<OutboxDispatcherOptions>>().Get(name),
            p.GetService<ILoggerFactory>()?.CreateLogger(EventSourcingLoggerCategory.Outbox) ?? NullLogger.Instance));
        return options;
    }

    /// <summary>
    /// Runs the transactional outbox of <typeparamref name="TContext"/> as a hosted service that hands committed
    /// messages to <typeparamref name="TPublisher"/>, as <see cref="AddEventSourcingOutbox{TContext, TPublisher}(IServiceCollection)"/>
    /// does, with options set by <paramref name="configure"/>.
    /// </summary>
    /// <typeparam name="TContext">The DbContext whose outbox is dispatched.</typeparam>
    /// <typeparam name="TPublisher">The publisher; registered as scoped unless already registered.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">
    /// Sets the polling, cleanup and stats intervals, or <see langword="null"/> for the defaults; it is run once at once
    /// to check the values, and again when the options are created.
    /// </param>
    /// <returns>The same service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An interval is zero or negative; the exception names it (<c>configure.PollingInterval</c>).</exception>
    public static IServiceCollection AddEventSourcingOutbox<TContext, TPublisher>(
        this IServiceCollection services, Action<OutboxDispatcherOptions>? configure)
        where TContext : DbContext
        where TPublisher : class, IOutboxPublisher
    {
        ArgumentNullException.ThrowIfNull(services);
        ValidatedOptions.ThrowIfInvalid(configure, OutboxDispatcherOptionsRules.Check);
        var builder = services.AddEventSourcingOutbox<TContext, TPublisher>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        return services;
    }
}
