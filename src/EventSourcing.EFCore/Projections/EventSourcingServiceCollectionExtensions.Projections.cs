using EventSourcing.EFCore.Projections.Internal;
using EventSourcing.EFCore;
using Microsoft.EntityFrameworkCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers EventSourcing.EFCore's hosted services.</summary>
public static partial class EventSourcingServiceCollectionExtensions
{
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
    /// <param name="configure">Sets batch size, poll intervals and which projections to run.</param>
    /// <returns>The same service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IServiceCollection AddEventSourcingProjections<TContext>(this IServiceCollection services, Action<ProjectionHostOptions>? configure = null)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new ProjectionHostOptions();
        configure?.Invoke(options);
        services.AddHostedService(provider => new ProjectionHostedService<TContext>(provider, options));
        return services;
    }
}
