using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Projections.Internal;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventSourcing.EFCore.HealthChecks.Internal;

/// <summary>
/// Reads the lag of every catch-up projection of <typeparamref name="TContext"/> (<c>db.Projections().GetLagAsync</c>) and
/// the failures the hosted service of this process recorded; see <see cref="ProjectionsHealthCheckOptions"/> for the statuses.
/// </summary>
internal sealed class ProjectionsHealthCheck<TContext>(IServiceProvider services, ProjectionsHealthCheckOptions options) : IHealthCheck
    where TContext : DbContext
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var problems = new List<string>();
        var status = HealthStatus.Healthy;
        var lease = await ContextLease<TContext>.CreateAsync(services, cancellationToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            var runner = lease.Context.Projections();
            data["projections"] = runner.Names.ToArray();
            foreach (var name in runner.Names)
            {
                var lag = await runner.GetLagAsync(name, cancellationToken).ConfigureAwait(false);
                data[name + ".eventsBehind"] = lag.EventsBehind;
                data[name + ".secondsBehind"] = lag.SecondsBehind;
                data[name + ".deadLetters"] = lag.DeadLetters;
                if (lag.EventsBehind > options.MaxEventsBehind || lag.TimeBehind > options.MaxTimeBehind)
                {
                    status = Worst(status, HealthStatus.Degraded);
                    problems.Add($"{name} is {lag.EventsBehind} events ({lag.SecondsBehind:0.#} s) behind");
                }
            }
        }

        if (services.GetService<ProjectionFailures<TContext>>() is { } failures)
        {
            foreach (var (name, failure) in failures.Failing)
            {
                data[name + ".consecutiveFailures"] = failure.ConsecutiveFailures;
                data[name + ".error"] = failure.Error.GetType().Name + ": " + failure.Error.Message;
                data[name + ".failingSince"] = failure.FirstFailedAt;
                var unhealthy = failure.Stopped || failure.ConsecutiveFailures >= options.FailuresBeforeUnhealthy;
                status = Worst(status, unhealthy ? HealthStatus.Unhealthy : HealthStatus.Degraded);
                problems.Add(failure.Stopped
                    ? $"{name} is stopped on an error ({failure.Error.Message})"
                    : $"{name} failed {failure.ConsecutiveFailures} batch(es) in a row ({failure.Error.Message})");
            }
        }

        var description = problems.Count == 0 ? "Every catch-up projection is caught up and running." : string.Join("; ", problems) + ".";
        return new HealthCheckResult(status, description, exception: null, data);
    }

    private static HealthStatus Worst(HealthStatus a, HealthStatus b) => a < b ? a : b;
}
