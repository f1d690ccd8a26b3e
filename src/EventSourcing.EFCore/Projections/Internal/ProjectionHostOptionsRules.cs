using EventSourcing.EFCore.Infrastructure.Internal;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>The rules of <see cref="ProjectionHostOptions"/>, in one place.</summary>
internal static class ProjectionHostOptionsRules
{
    public static IEnumerable<OptionFailure?> Check(ProjectionHostOptions options)
    {
        yield return OptionFailure.AtLeast(nameof(ProjectionHostOptions.BatchSize), options.BatchSize, 1);
        yield return OptionFailure.Positive(nameof(ProjectionHostOptions.MinPollInterval), options.MinPollInterval);
        yield return OptionFailure.Positive(nameof(ProjectionHostOptions.MaxPollInterval), options.MaxPollInterval);
        yield return OptionFailure.Positive(nameof(ProjectionHostOptions.RetryInterval), options.RetryInterval);
        yield return OptionFailure.Positive(nameof(ProjectionHostOptions.ReadHorizonStallThreshold), options.ReadHorizonStallThreshold);
    }
}
