using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Projections.Internal;
using EventSourcing.EFCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers EventSourcing.EFCore's hosted services.</summary>
public static partial class EventSourcingServiceCollectionExtensions
{
    /// <summary>
    /// Adds a hosted service that runs every catch-up projection registered on <typeparamref name="TContext"/>
    /// (<c>es.AddProjection&lt;T&gt;()</c>) independently: each batch on a new context, committed with its checkpoint,
    /// polling with backoff when the store is idle, logging and retrying a projection that fails. Its
    /// <see cref="ProjectionHostOptions"/> are named options (the context's full type name), validated at start-up;
    /// configure them on the returned builder, for example <c>.BindConfiguration("EventSourcing:Projections")</c>.
    /// </summary>
    /// <typeparam name="TContext">
    /// The DbContext, registered with <c>AddDbContext</c>, <c>AddDbContextPool</c> or <c>AddDbContextFactory</c>
    /// (a registered <see cref="IDbContextFactory{TContext}"/> is preferred).
    /// </typeparam>
    /// <param name="services">The service collection.</param>
    /// <returns>The builder of the hosted service's options.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static OptionsBuilder<ProjectionHostOptions> AddEventSourcingProjections<TContext>(this IServiceCollection services)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(services);
        var name = ValidatedOptions.NameOf<TContext>();
        var options = ValidatedOptions.Add<ProjectionHostOptions>(services, name, ProjectionHostOptionsRules.Check);
        services.TryAddSingleton<ProjectionFailures<TContext>>();
        services.AddHostedService(provider => new ProjectionHostedService<TContext>(
            provider, provider.GetRequiredService<IOptionsMonitor<ProjectionHostOptions>>().Get(name), provider.GetRequiredService<ProjectionFailures<TContext>>()));
        return options;
    }

    /// <summary>
    /// Adds a hosted service that runs every catch-up projection registered on <typeparamref name="TContext"/>
    /// (<c>es.AddProjection&lt;T&gt;()</c>) independently: each batch on a new context, committed with its checkpoint,
    /// polling with backoff when the store is idle, logging and retrying a projection that fails.
    /// </summary>
    /// <typeparam name="TContext">
    /// The DbContext, registered with <c>AddDbContext</c>, <c>AddDbContextPool</c> or <c>AddDbContextFactory</c>
    /// (a registered <see cref="IDbContextFactory{TContext}"/> is preferred).
    /// </typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">
    /// Sets batch size, poll intervals and which projections to run, or <see langword="null"/> for the defaults; it is run
    /// once at once to check the values, and again when the options are created.
    /// </param>
    /// <returns>The same service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the exception names it (<c>configure.BatchSize</c>).</exception>
    public static IServiceCollection AddEventSourcingProjections<TContext>(this IServiceCollection services, Action<ProjectionHostOptions>? configure)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(services);
        ValidatedOptions.ThrowIfInvalid(configure, ProjectionHostOptionsRules.Check);
        var builder = services.AddEventSourcingProjections<TContext>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        return services;
    }
}
