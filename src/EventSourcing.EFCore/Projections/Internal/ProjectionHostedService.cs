using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// The hosted service of <c>AddEventSourcingProjections&lt;TContext&gt;()</c>: one loop per catch-up projection, each
/// batch on a new context (from <see cref="IDbContextFactory{TContext}"/> when registered, otherwise from a new DI scope).
/// A full batch is followed at once by the next; a poll that finds nothing waits, doubling the wait while the store
/// stays idle. A failure is logged (<see cref="EventSourcingEventId.ProjectionFailed"/>) and retried later; the failed
/// projection does not advance and the others carry on.
/// </summary>
internal sealed class ProjectionHostedService<TContext>(IServiceProvider services, ProjectionHostOptions options, ProjectionFailures<TContext> failures)
    : BackgroundService
    where TContext : DbContext
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // let the host finish starting
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger(EventSourcingLoggerCategory.Projections) ?? NullLogger.Instance;
        List<Projection> projections;
        var lease = await ContextLease<TContext>.CreateAsync(services, stoppingToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            var extension = lease.Context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()
                ?? throw new InvalidOperationException(Messages.EventSourcingNotConfigured(typeof(TContext)));
            projections = options.Projections.Count == 0
                ? extension.Projections.Where(p => !p.IsInline).Select(p => p.Projection).ToList()
                : options.Projections.Select(extension.GetCatchUpProjection).ToList();
        }

        Log.ProjectionHostStarted(logger, string.Join(", ", projections.Select(p => p.Name)), typeof(TContext).Name);
        await Task.WhenAll(projections.Select(p => RunAsync(p, logger, stoppingToken))).ConfigureAwait(false);
    }

    private async Task RunAsync(Projection projection, ILogger logger, CancellationToken stoppingToken)
    {
        var idle = options.MinPollInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            ProjectionBatchResult batch;
            try
            {
                var lease = await ContextLease<TContext>.CreateAsync(services, stoppingToken).ConfigureAwait(false);
                await using (lease.ConfigureAwait(false))
                {
                    batch = await ProjectionCatchUp.RunBatchAsync(
                        lease.Context, projection, options.BatchSize, stoppingToken, options.ReadHorizonStallThreshold).ConfigureAwait(false);
                }

                failures.Succeeded(projection.Name);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The service keeps running: the failure is logged, the projection stays where it was and is tried again.
                Log.ProjectionFailed(logger, ex, projection.Name, options.RetryInterval);
                failures.Failed(projection.Name, ex, TimeProvider.System.GetUtcNow());
                await Task.Delay(options.RetryInterval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                idle = options.MinPollInterval;
                continue;
            }

            if (!batch.ReachedEnd)
            {
                idle = options.MinPollInterval;
                continue;
            }

            if (batch.Applied > 0)
            {
                idle = options.MinPollInterval;
            }

            await Task.Delay(idle, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (batch.Applied == 0)
            {
                idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, options.MaxPollInterval.Ticks));
            }
        }
    }
}
