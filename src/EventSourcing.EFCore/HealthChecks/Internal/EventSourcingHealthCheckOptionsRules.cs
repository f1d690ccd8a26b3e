using EventSourcing.EFCore.Infrastructure.Internal;

namespace EventSourcing.EFCore.HealthChecks.Internal;

/// <summary>The rules of <see cref="EventSourcingHealthCheckOptions"/>, in one place.</summary>
internal static class EventSourcingHealthCheckOptionsRules
{
    public static IEnumerable<OptionFailure?> Check(EventSourcingHealthCheckOptions options)
    {
        var projections = options.Projections;
        yield return OptionFailure.AtLeast("Projections." + nameof(projections.MaxEventsBehind), projections.MaxEventsBehind, 0);
        yield return OptionFailure.Positive("Projections." + nameof(projections.MaxTimeBehind), projections.MaxTimeBehind);
        yield return OptionFailure.AtLeast("Projections." + nameof(projections.FailuresBeforeUnhealthy), projections.FailuresBeforeUnhealthy, 1);
        yield return OptionFailure.AtLeast("Outbox." + nameof(options.Outbox.MaxDeadLetters), options.Outbox.MaxDeadLetters, 0);
        yield return OptionFailure.Positive("Outbox." + nameof(options.Outbox.MaxPendingAge), options.Outbox.MaxPendingAge);
        foreach (var (path, check) in new (string, EventSourcingHealthCheckRegistration)[]
                 {
                     ("Projections", projections), ("ReadHorizon", options.ReadHorizon), ("Outbox", options.Outbox),
                 })
        {
            yield return check.Name is { } name && string.IsNullOrWhiteSpace(name) ? new OptionFailure(path + ".Name", name, "null or not blank") : null;
            yield return check.Timeout is { } timeout ? OptionFailure.Positive(path + ".Timeout", timeout) : null;
        }
    }
}
