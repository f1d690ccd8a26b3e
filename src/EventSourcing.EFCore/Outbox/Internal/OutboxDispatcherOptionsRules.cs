using EventSourcing.EFCore.Infrastructure.Internal;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>The rules of <see cref="OutboxDispatcherOptions"/>, in one place.</summary>
internal static class OutboxDispatcherOptionsRules
{
    public static IEnumerable<OptionFailure?> Check(OutboxDispatcherOptions options)
    {
        yield return OptionFailure.Positive(nameof(OutboxDispatcherOptions.PollingInterval), options.PollingInterval);
        yield return OptionFailure.Positive(nameof(OutboxDispatcherOptions.CleanupInterval), options.CleanupInterval);
        yield return OptionFailure.Positive(nameof(OutboxDispatcherOptions.StatsInterval), options.StatsInterval);
    }
}
