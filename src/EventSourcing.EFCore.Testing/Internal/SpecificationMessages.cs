using System.Text;

namespace EventSourcing.EFCore.Testing.Internal;

/// <summary>Every message the test helpers put in an exception, in one place.</summary>
internal static class SpecificationMessages
{
    public static string EventsDiffer(Type aggregate, IReadOnlyList<object> given, IReadOnlyList<object> expected, IReadOnlyList<object> actual, int index)
    {
        var text = new StringBuilder()
            .Append(aggregate.Name).Append(": expected ").Append(Count(expected.Count))
            .Append(", the command raised ").Append(Count(actual.Count))
            .Append("; first difference at event ").Append(index + 1).Append('.').AppendLine();
        List(text, "Given", given);
        List(text, "Expected", expected);
        List(text, "Actual", actual);
        return text.ToString().TrimEnd();
    }

    public static string DidNotThrow(Type aggregate, Type exception, IReadOnlyList<object> given, IReadOnlyList<object> actual)
    {
        var text = new StringBuilder()
            .Append(aggregate.Name).Append(": expected the command to throw ").Append(exception.Name)
            .Append(", but it completed and raised ").Append(Count(actual.Count)).Append('.').AppendLine();
        List(text, "Given", given);
        List(text, "Actual", actual);
        return text.ToString().TrimEnd();
    }

    public static string NoCommand(Type aggregate)
        => $"The specification of {aggregate.Name} has no command: call When(aggregate => ...) or When(() => new aggregate) before Then/ThenThrows.";

    public static string CommandAlreadySet(Type aggregate) => $"The specification of {aggregate.Name} already has a command: call When once.";

    public static string GivenWithCreatingCommand(Type aggregate)
        => $"The specification of {aggregate.Name} has given events and a creating command (When(() => ...)): a creating command starts a new stream; use When(aggregate => ...) to act on the given events.";

    public static string CreateReturnedNull(Type aggregate) => $"The creating command of the {aggregate.Name} specification returned null.";

    public static string NotRehydratable(Type aggregate)
        => $"{aggregate.Name} is not derived from AggregateRoot<TId>: aggregate specifications replay given events through AggregateRoot's handlers.";

    public static string ProjectionsBehind(TimeSpan timeout, IEnumerable<ProjectionLag> behind)
        => $"Catch-up projections did not reach the end of the event store within {timeout.TotalSeconds:0.###} s: "
           + string.Join("; ", behind.Select(l => $"'{l.Projection}' is {l.EventsBehind} event(s) behind (checkpoint {l.Checkpoint}"
                                                   + (l.UpdatedAt is { } at ? $", last saved {at:O})" : ", never saved)")))
           + ". Is a runner going (services.AddEventSourcingProjections, or db.Projections().CatchUpAsync), and is its handler failing (see the EventSourcing.EFCore.Projections log)?";

    public const string NoCatchUpProjections =
        "The context has no catch-up projections to wait for: register them with UseEventSourcing(es => es.AddProjection<T>()).";

    public static string NotPostgreSql(string? provider)
        => $"PostgreSqlTestDatabase needs a context configured with UseNpgsql (package Npgsql.EntityFrameworkCore.PostgreSQL); this one uses '{provider ?? "no provider"}'.";

    public const string NotInitialized = "Call PostgreSqlTestDatabase.InitializeAsync (for example in [OneTimeSetUp]) before ResetAsync.";

    private static string Count(int n) => n == 1 ? "1 event" : $"{n} events";

    private static void List(StringBuilder text, string title, IReadOnlyList<object> events)
    {
        text.Append(title).Append(':');
        if (events.Count == 0)
        {
            text.AppendLine(" (none)");
            return;
        }

        text.AppendLine();
        for (var i = 0; i < events.Count; i++)
        {
            text.Append("  ").Append(i + 1).Append(". ").AppendLine(EventComparison.Describe(events[i]));
        }
    }
}
