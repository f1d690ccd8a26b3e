using System.Diagnostics;
using EventSourcing.EFCore;
using EventSourcing.EFCore.Testing.Internal;

namespace Microsoft.EntityFrameworkCore;

/// <summary>Test helpers on a DbContext configured with <c>UseEventSourcing</c> (package EventSourcing.EFCore.Testing).</summary>
public static class EventSourcingTestingDbContextExtensions
{
    /// <summary>The timeout <see cref="WaitForProjectionsAsync"/> uses when none is given: 10 seconds.</summary>
    public static readonly TimeSpan DefaultProjectionTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Waits until every catch-up projection of the context has reached the end of the event store (no committed event
    /// after its checkpoint), polling its lag. Something else must run the projections: the hosted runner
    /// (<c>services.AddEventSourcingProjections</c>) or a <c>CatchUpAsync</c> call on another context.
    /// </summary>
    /// <param name="context">A context configured with <c>UseEventSourcing</c> and at least one catch-up projection.</param>
    /// <param name="timeout">How long to wait; <see cref="DefaultProjectionTimeout"/> when null.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when every catch-up projection is caught up.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The context is not configured for event sourcing, or has no catch-up projection.</exception>
    /// <exception cref="TimeoutException">A projection is still behind when the timeout expires; the message names each one, how far behind it is and its checkpoint.</exception>
    public static async Task WaitForProjectionsAsync(this DbContext context, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var limit = timeout ?? DefaultProjectionTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, TimeSpan.Zero, nameof(timeout));
        var projections = context.Projections();
        var names = projections.Names;
        if (names.Count == 0)
        {
            throw new InvalidOperationException(SpecificationMessages.NoCatchUpProjections);
        }

        var clock = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            var behind = new List<ProjectionLag>();
            foreach (var name in names)
            {
                var lag = await projections.GetLagAsync(name, cancellationToken).ConfigureAwait(false);
                if (!lag.IsCaughtUp)
                {
                    behind.Add(lag);
                }
            }

            if (behind.Count == 0)
            {
                return;
            }

            if (clock.Elapsed >= limit)
            {
                throw new TimeoutException(SpecificationMessages.ProjectionsBehind(limit, behind));
            }

            var left = limit - clock.Elapsed;
            await Task.Delay(pause < left ? pause : left, cancellationToken).ConfigureAwait(false);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, MaxPollInterval.Ticks));
        }
    }
}
