using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

/// <summary>
/// The event-id table of docs/observability.md, the <see cref="EventSourcingEventId"/> constants and the library's
/// <c>[LoggerMessage]</c> methods list the same ids, names and levels, so the documentation cannot drift.
/// </summary>
public sealed partial class DocumentationTests
{
    [Test]
    public void The_event_id_table_matches_the_constants_and_every_log_message_of_the_library()
    {
        var documented = DocumentedEventIds();
        var constants = typeof(EventSourcingEventId).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(EventId))
            .Select(f => (Field: f.Name, Id: (EventId)f.GetValue(null)!))
            .ToList();
        var messages = typeof(EventSourcingEventId).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .ToList();
        var categories = typeof(EventSourcingLoggerCategory).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToHashSet(StringComparer.Ordinal);

        Assert.Multiple(() =>
        {
            Assert.That(documented.Select(d => d.Id), Is.Unique, "each id once in the table");
            Assert.That(constants.Select(c => c.Id.Id), Is.Unique, "each constant has its own id");
            Assert.That(
                documented.Select(d => (d.Id, d.Name)).Order(),
                Is.EqualTo(constants.Select(c => (c.Id.Id, c.Field)).Order()),
                "the table lists every EventSourcingEventId constant (id and name), and nothing else");
            foreach (var c in constants)
            {
                Assert.That(c.Id.Name, Is.EqualTo("EventSourcing." + c.Field), $"{c.Field}: event name");
            }

            Assert.That(messages.Select(m => m.EventId).Order(), Is.EqualTo(constants.Select(c => c.Id.Id).Order()),
                "every [LoggerMessage] of the library has a constant, and every constant is logged");
            foreach (var message in messages)
            {
                var constant = constants.Single(c => c.Id.Id == message.EventId);
                var row = documented.Single(d => d.Id == message.EventId);
                Assert.That(message.EventName, Is.EqualTo(constant.Id.Name), $"{message.EventId}: the message's event name is the constant's");
                Assert.That(row.Level, Is.EqualTo(message.Level), $"{message.EventId}: documented level");
                Assert.That(categories, Does.Contain(row.Category), $"{message.EventId}: documented category is one of EventSourcingLoggerCategory");
                Assert.That(row.Category, Is.Not.EqualTo(EventSourcingLoggerCategory.Name), $"{message.EventId}: a capability's category");
            }
        });
    }

    private static List<(int Id, string Name, LogLevel Level, string Category)> DocumentedEventIds()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot, "docs", "observability.md"));
        var logs = text[text.IndexOf("\n## Logs", StringComparison.Ordinal)..];
        var next = logs.IndexOf("\n## ", 1, StringComparison.Ordinal);
        logs = next < 0 ? logs : logs[..next];
        var rows = EventIdRow().Matches(logs)
            .Select(m => (
                int.Parse(m.Groups["id"].Value, CultureInfo.InvariantCulture),
                m.Groups["name"].Value,
                Enum.Parse<LogLevel>(m.Groups["level"].Value),
                m.Groups["category"].Value))
            .ToList();
        Assert.That(rows, Is.Not.Empty, "docs/observability.md has the event-id table under ## Logs");
        return rows;
    }

    [GeneratedRegex(@"^\| (?<id>47\d{4}) \| `(?<name>\w+)` \| (?<level>\w+) \| `(?<category>[\w.]+)` \| .+ \|$", RegexOptions.Multiline)]
    private static partial Regex EventIdRow();
}
