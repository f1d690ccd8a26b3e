using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Serialization.Internal;

namespace EventSourcing.EFCore.Aggregates.Internal;

/// <summary>
/// The stream type of an aggregate CLR type (<see cref="AggregateTypeAttribute"/> or the class name), validated once
/// per type, and the text form of aggregate ids.
/// </summary>
internal static class AggregateTypeName
{
    private static readonly ConcurrentDictionary<Type, string> Names = new();
    private static readonly ConcurrentDictionary<Assembly, bool> ValidatedAssemblies = new();

    /// <summary>
    /// Validates the stream type of every concrete aggregate type in <paramref name="assemblies"/> (the assemblies given to
    /// <c>AddEvents</c>), so that an unusable <see cref="AggregateTypeAttribute"/> fails at start-up, not at first use.
    /// Several aggregate types may share a stream type (different views of the same streams).
    /// </summary>
    public static void ValidateAll(IEnumerable<Assembly> assemblies)
    {
        foreach (var assembly in assemblies)
        {
            ValidatedAssemblies.GetOrAdd(assembly, static a =>
            {
                foreach (var type in a.GetTypes().Where(t => !t.IsAbstract && !t.ContainsGenericParameters && typeof(IEventSourcedAggregate).IsAssignableFrom(t)))
                {
                    _ = Of(type);
                }

                return true;
            });
        }
    }

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
