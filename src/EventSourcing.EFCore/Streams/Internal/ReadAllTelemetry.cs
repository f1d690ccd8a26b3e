using System.Diagnostics;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>The span of one read-all page (<c>eventsourcing.read_all</c>): where it read from and how many events it returned.</summary>
internal static class ReadAllTelemetry
{
    /// <summary>Starts the span of a page read after <paramref name="after"/>, or returns null when nobody listens.</summary>
    public static Activity? Start(GlobalCheckpoint after)
    {
        var activity = EventSourcingActivitySource.Source.StartActivity(EventSourcingActivitySource.ReadAllSpan, ActivityKind.Internal);
        activity?.SetTag(EventSourcingActivitySource.FromPosition, after.Position);
        return activity;
    }

    /// <summary>Reads one page into <paramref name="page"/> through <paramref name="read"/> inside the span, tagging the number of events returned.</summary>
    public static async Task ReadPageAsync(GlobalCheckpoint after, ReadAllPage page, Func<Task> read)
    {
        if (!EventSourcingActivitySource.Source.HasListeners())
        {
            await read().ConfigureAwait(false);
            return;
        }

        using var activity = Start(after);
        await read().ConfigureAwait(false);
        activity?.SetTag(EventSourcingActivitySource.EventsCount, page.Count);
        if (page.Count > 0)
        {
            activity?.SetTag(EventSourcingActivitySource.ToPosition, page.LastPosition);
        }
    }
}
