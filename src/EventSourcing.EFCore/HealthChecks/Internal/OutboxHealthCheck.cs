using EventSourcing.EFCore.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventSourcing.EFCore.HealthChecks.Internal;

/// <summary>Reads the outbox stats (<c>db.Outbox().GetStatsAsync()</c>); see <see cref="OutboxHealthCheckOptions"/> for the statuses.</summary>
internal sealed class OutboxHealthCheck<TContext>(IServiceProvider services, OutboxHealthCheckOptions options) : IHealthCheck
    where TContext : DbContext
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var lease = await ContextLease<TContext>.CreateAsync(services, cancellationToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            if (lease.Context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>() is not { Outbox: not null })
            {
                return HealthCheckResult.Healthy($"{typeof(TContext).Name} has no outbox (UseOutbox); nothing to watch.");
            }

            var stats = await lease.Context.Outbox().GetStatsAsync(cancellationToken).ConfigureAwait(false);
            var data = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                ["pending"] = stats.Pending,
                ["retrying"] = stats.Retrying,
                ["deadLetters"] = stats.DeadLetters,
                ["oldestPendingAgeSeconds"] = stats.OldestPendingAge?.TotalSeconds ?? 0d,
            };
            var problems = new List<string>();
            if (stats.DeadLetters > options.MaxDeadLetters)
            {
                problems.Add($"{stats.DeadLetters} dead letter(s) (requeue them with db.Outbox().RequeueAsync)");
            }

            if (stats.OldestPendingAge > options.MaxPendingAge)
            {
                problems.Add($"the oldest pending message has waited {stats.OldestPendingAge:c}");
            }

            return problems.Count == 0
                ? HealthCheckResult.Healthy($"{stats.Pending} pending, no dead letters above the threshold.", data)
                : HealthCheckResult.Degraded("Outbox: " + string.Join("; ", problems) + ".", exception: null, data);
        }
    }
}
