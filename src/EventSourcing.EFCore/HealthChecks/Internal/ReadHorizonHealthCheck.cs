using EventSourcing.EFCore.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventSourcing.EFCore.HealthChecks.Internal;

/// <summary>
/// Reports a transaction that holds read-all back for the stall threshold or longer while events of a catch-up projection
/// wait behind it (<see cref="ProjectionLag.HeldBackBy"/>); see <see cref="ReadHorizonHealthCheckOptions"/>.
/// </summary>
internal sealed class ReadHorizonHealthCheck<TContext>(IServiceProvider services, TimeSpan threshold) : IHealthCheck
    where TContext : DbContext
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal) { ["thresholdSeconds"] = threshold.TotalSeconds };
        var lease = await ContextLease<TContext>.CreateAsync(services, cancellationToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            var runner = lease.Context.Projections();
            foreach (var name in runner.Names)
            {
                var lag = await runner.GetLagAsync(name, cancellationToken).ConfigureAwait(false);
                if (lag.HeldBackBy is not { } holder || holder.TransactionAge < threshold)
                {
                    continue;
                }

                data["projection"] = name;
                data["eventsBehind"] = lag.EventsBehind;
                data["transactionId"] = holder.TransactionId;
                data["processId"] = (object?)holder.ProcessId ?? "none (prepared transaction)";
                data["database"] = holder.Database ?? "";
                data["applicationName"] = holder.ApplicationName ?? "";
                data["state"] = holder.State ?? "";
                data["transactionAgeSeconds"] = holder.TransactionAge.TotalSeconds;
                return HealthCheckResult.Degraded(
                    $"Read-all is held back: events of projection {name} wait behind transaction {holder.TransactionId} (pid {holder.ProcessId}, "
                    + $"database {holder.Database}, application {holder.ApplicationName}, state {holder.State}), open for {holder.TransactionAge:c}.",
                    exception: null,
                    data);
            }
        }

        return HealthCheckResult.Healthy("No transaction holds read-all back beyond the threshold.", data);
    }
}
