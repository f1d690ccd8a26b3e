using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using EventSourcing.EFCore.Serialization;

namespace EventSourcing.EFCore.Aggregates;

/// <summary>
/// The stream type of an aggregate CLR type (<see cref="AggregateTypeAttribute"/> or the class name), validated once
/// per type, and the text form of aggregate ids.
/// </summary>
internal static class AggregateTypeName
{
    private static readonly ConcurrentDictionary<Type, string> Names = new();

    public static string Of(Type aggregateType) => Names.GetOrAdd(aggregateType, static type =>
    {
        var name = type.GetCustomAttribute<AggregateTypeAttribute>(inherit: false)?.Name ?? type.Name;
        if (EventTypeName.Problem(name) is { } problem || name.Length > StreamId.MaxLength)
        {
            throw new InvalidOperationException(Messages.UnusableAggregateName(type, name, EventTypeName.Problem(name) ?? "it is too long"));
        }

        return name;
    });

    /// <summary>Formats an id the way it is stored: invariant culture, Guids as 32 hex digits with hyphens.</summary>
    public static string FormatId(object id) => id switch
    {
        string s => s,
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => id.ToString() ?? "",
    };
}
