using System.Diagnostics;
using System.Reflection;

namespace EventSourcing.EFCore.Diagnostics.Internal;

/// <summary>
/// The library's one <see cref="ActivitySource"/> (<see cref="EventSourcingDiagnostics.ActivitySourceName"/>, with the
/// package version), its span names and tag names. Callers check <see cref="ActivitySource.HasListeners"/> (or a null
/// <see cref="ActivitySource.StartActivity(string, ActivityKind)"/>) before building any tag.
/// </summary>
internal static class EventSourcingActivitySource
{
    public const string SaveSpan = "eventsourcing.save";
    public const string LoadSpan = "eventsourcing.load";
    public const string ReadAllSpan = "eventsourcing.read_all";
    public const string CatchUpSpan = "eventsourcing.catch_up";
    public const string PublishOperation = "publish";

    public const string StreamsCount = "eventsourcing.streams.count";
    public const string EventsCount = "eventsourcing.events.count";
    public const string ConflictKind = "eventsourcing.conflict.kind";
    public const string StreamType = "eventsourcing.stream.type";
    public const string StreamId = "eventsourcing.stream.id";
    public const string EventsReplayed = "eventsourcing.events.replayed";
    public const string SnapshotUsed = "eventsourcing.snapshot.used";
    public const string SnapshotVersion = "eventsourcing.snapshot.version";
    public const string FromPosition = "eventsourcing.position.from";
    public const string ToPosition = "eventsourcing.position.to";
    public const string Projection = "eventsourcing.projection.name";
    public const string ErrorType = "error.type";
    public const string MessagingSystem = "messaging.system";
    public const string MessagingDestination = "messaging.destination.name";
    public const string MessagingMessageId = "messaging.message.id";
    public const string MessagingOperationType = "messaging.operation.type";
    public const string MessagingOperationName = "messaging.operation.name";

    public static readonly ActivitySource Source = new(
        EventSourcingDiagnostics.ActivitySourceName,
        typeof(EventSourcingActivitySource).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(EventSourcingActivitySource).Assembly.GetName().Version?.ToString());

    /// <summary>Marks <paramref name="activity"/> failed with <paramref name="exception"/>: status Error, <c>error.type</c>, and its conflict kind if any.</summary>
    public static void Fail(Activity activity, Exception exception)
    {
        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.SetTag(ErrorType, exception.GetType().FullName);
        if (ConflictKinds.Of(exception) is { } kind)
        {
            activity.SetTag(ConflictKind, kind);
        }
    }

    /// <summary>
    /// Stops an activity that was started without staying <see cref="Activity.Current"/> (it spans several EF interceptor
    /// calls), leaving the caller's current activity as it is.
    /// </summary>
    public static void StopDetached(Activity activity)
    {
        var current = Activity.Current;
        activity.Stop();
        if (!ReferenceEquals(current, activity))
        {
            Activity.Current = current;
        }
    }
}
