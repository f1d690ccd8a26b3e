using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.EFCore.Infrastructure.Internal;

/// <summary>
/// A context for one unit of background work (a projection batch, a health check), from
/// <see cref="IDbContextFactory{TContext}"/> when registered, otherwise from a new DI scope, and what must be disposed with it.
/// </summary>
internal sealed class ContextLease<TContext> : IAsyncDisposable
    where TContext : DbContext
{
    private readonly AsyncServiceScope? _scope;

    private ContextLease(TContext context, AsyncServiceScope? scope)
    {
        Context = context;
        _scope = scope;
    }

    public TContext Context { get; }

    public static async Task<ContextLease<TContext>> CreateAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        if (services.GetService<IDbContextFactory<TContext>>() is { } factory)
        {
            return new ContextLease<TContext>(await factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false), scope: null);
        }

        var scope = services.CreateAsyncScope();
        return new ContextLease<TContext>(scope.ServiceProvider.GetRequiredService<TContext>(), scope);
    }

    public async ValueTask DisposeAsync()
    {
        if (_scope is { } scope)
        {
            await scope.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            await Context.DisposeAsync().ConfigureAwait(false);
        }
    }
}
