namespace EventSourcing.EFCore;

/// <summary>
/// The logger categories EventSourcing.EFCore writes under, one per capability, all below <see cref="Name"/>: a filter on
/// <c>EventSourcing.EFCore</c> catches every line the library writes, whatever the filters on EF Core's own categories.
/// </summary>
public static class EventSourcingLoggerCategory
{
    /// <summary>The root category: <c>EventSourcing.EFCore</c>.</summary>
    public const string Name = "EventSourcing.EFCore";

    /// <summary>Appends, conflicts and imports: <c>EventSourcing.EFCore.Streams</c>.</summary>
    public const string Streams = Name + ".Streams";

    /// <summary>Snapshots taken, ignored and pruned: <c>EventSourcing.EFCore.Snapshots</c>.</summary>
    public const string Snapshots = Name + ".Snapshots";

    /// <summary>Catch-up projections and their host: <c>EventSourcing.EFCore.Projections</c>.</summary>
    public const string Projections = Name + ".Projections";

    /// <summary>The outbox and its dispatcher: <c>EventSourcing.EFCore.Outbox</c>.</summary>
    public const string Outbox = Name + ".Outbox";
}
