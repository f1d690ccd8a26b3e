using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// The hosted outbox dispatcher registered by <c>services.AddEventSourcingOutbox&lt;TContext, TPublisher&gt;</c>: in a
/// loop, it takes a fresh context and publisher from a new DI scope (or the context from
/// <see cref="IDbContextFactory{TContext}"/> when one is registered), dispatches everything due, deletes dispatched
/// messages past their retention every cleanup interval, logs the outbox stats every stats interval, and waits the
/// polling interval. A failed round is logged and retried; a misconfigured context stops the host at start-up.
/// </summary>
internal sealed class OutboxDispatcher<TContext, TPublisher>(IServiceScopeFactory scopes, OutboxDispatcherOptions options, ILogger logger)
    : BackgroundService
    where TContext : DbContext
    where TPublisher : class, IOutboxPublisher
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Configuration errors (no UseOutbox, no IncludeEventStore, no publisher) surface at start-up, not once per round.
        await RunRoundAsync(cleanup: false, stats: false, stoppingToken, validateOnly: true).ConfigureAwait(false);

        var clock = TimeProvider.System;
        var nextCleanup = clock.GetUtcNow();
        var nextStats = clock.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = clock.GetUtcNow();
            var cleanup = now >= nextCleanup;
            var stats = now >= nextStats;
            try
            {
                await RunRoundAsync(cleanup, stats, stoppingToken).ConfigureAwait(false);
                nextCleanup = cleanup ? now + options.CleanupInterval : nextCleanup;
                nextStats = stats ? now + options.StatsInterval : nextStats;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // A background loop must outlive a failed round (database restart, network): log it and poll again.
                OutboxLog.OutboxDispatcherFailed(logger, typeof(TContext).Name, exception);
            }

            try
            {
                await Task.Delay(options.PollingInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task RunRoundAsync(bool cleanup, bool stats, CancellationToken cancellationToken, bool validateOnly = false)
    {
        var scope = scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            var factory = scope.ServiceProvider.GetService<IDbContextFactory<TContext>>();
            var context = factory is null
                ? scope.ServiceProvider.GetRequiredService<TContext>()
                : await factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var outbox = context.Outbox();
                var publisher = scope.ServiceProvider.GetRequiredService<TPublisher>();
                if (validateOnly)
                {
                    return;
                }

                await outbox.DispatchPendingAsync(publisher, cancellationToken).ConfigureAwait(false);
                if (cleanup)
                {
                    await outbox.DeleteDispatchedAsync(cancellationToken).ConfigureAwait(false);
                }

                if (stats)
                {
                    var s = await outbox.GetStatsAsync(cancellationToken).ConfigureAwait(false);
                    OutboxLog.OutboxStats(logger, s.Pending, s.Retrying, s.OldestPendingAge, s.DeadLetters);
                }
            }
            finally
            {
                if (factory is not null)
                {
                    await context.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }
}
