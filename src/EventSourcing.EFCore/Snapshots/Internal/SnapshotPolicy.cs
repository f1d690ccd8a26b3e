namespace EventSourcing.EFCore.Snapshots.Internal;

/// <summary>
/// When a save takes a snapshot of an aggregate: every <see cref="Every"/> events (when the save crosses a multiple of it,
/// so a batch that moves the version from 95 to 105 takes one at 105 with <c>Every = 100</c>), or when
/// <see cref="When"/> returns true for the aggregate and the events just saved.
/// </summary>
internal sealed record SnapshotPolicy(long Every, Func<IEventSourcedAggregate, IReadOnlyList<object>, bool>? When)
{
    public static SnapshotPolicy EveryEvents(long events) => new(events, null);

    public static SnapshotPolicy Predicate(Func<IEventSourcedAggregate, IReadOnlyList<object>, bool> when) => new(0, when);

    /// <summary>Decides for a save that moved the aggregate from <paramref name="previousVersion"/> to <paramref name="version"/>.</summary>
    public bool IsDue(IEventSourcedAggregate aggregate, long previousVersion, long version, IReadOnlyList<object> events)
        => When is { } when
            ? when(aggregate, events)
            : Every > 0 && version / Every > previousVersion / Every;
}
