using EventSourcing.EFCore;
using EventSourcing.EFCore.RabbitMQ;
using Microsoft.EntityFrameworkCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the RabbitMQ outbox publisher.</summary>
public static class EventSourcingRabbitMqServiceCollectionExtensions
{
    /// <summary>
    /// Runs the outbox of <typeparamref name="TContext"/> as a hosted service that publishes to RabbitMQ through one
    /// singleton <see cref="RabbitMqOutboxPublisher"/> (disposed with the service provider).
    /// </summary>
    /// <typeparam name="TContext">The DbContext whose outbox is dispatched (configured with <c>UseOutbox</c>).</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the broker URI and maps each destination to an exchange and routing key.</param>
    /// <param name="dispatcher">Sets the dispatcher's polling, cleanup and stats intervals, or <see langword="null"/>.</param>
    /// <returns>The same service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The connection URI is not set.</exception>
    public static IServiceCollection AddEventSourcingRabbitMqOutbox<TContext>(
        this IServiceCollection services, Action<RabbitMqOutboxOptions> configure, Action<OutboxDispatcherOptions>? dispatcher = null)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new RabbitMqOutboxOptions();
        configure(options);
        var publisher = new RabbitMqOutboxPublisher(options);
        services.AddSingleton(_ => publisher);
        return services.AddEventSourcingOutbox<TContext, RabbitMqOutboxPublisher>(dispatcher);
    }
}
