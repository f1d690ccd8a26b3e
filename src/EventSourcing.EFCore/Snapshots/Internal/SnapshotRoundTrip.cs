using System.Collections.Concurrent;
using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Snapshots.Internal;

/// <summary>
/// Checks, when a snapshot is taken, that its JSON reads back into the same state: the state is deserialized into a new
/// aggregate and compared with the live one, field by field (the snapshot fields of the aggregate, then every instance
/// field of the values they hold, collections and dictionaries by content). A serializer that drops something (a value
/// tuple's fields, a property with a private setter in a nested type, a converter that loses precision) shows up as the
/// first difference, described by its path.
/// </summary>
internal static class SnapshotRoundTrip
{
    private const int MaxDepth = 64;

    private static readonly ConcurrentDictionary<Type, bool> Reported = new();

    /// <summary>
    /// Returns true when <paramref name="state"/> does not read back into <paramref name="candidate"/>'s state, so the
    /// snapshot must not be stored; the first refusal of each aggregate type is logged with the difference.
    /// </summary>
    public static bool Refuse(DbContext context, SnapshotSerializer serializer, SnapshotCandidate candidate, string state)
    {
        string? difference;
        try
        {
            difference = FindDifference(serializer, candidate.Aggregate, state);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            difference = "it cannot be read back: " + ex.Message;
        }

        if (difference is null)
        {
            return false;
        }

        var type = candidate.Aggregate.GetType();
        if (Reported.TryAdd(type, true))
        {
            EventSourcingLoggers.Of(context).Snapshots.SnapshotRefused(candidate.StreamId, candidate.Version, type.Name, difference);
        }

        return true;
    }

    /// <summary>Returns where the state read back from <paramref name="state"/> differs from <paramref name="aggregate"/>, or null when it does not.</summary>
    public static string? FindDifference(SnapshotSerializer serializer, object aggregate, string state)
    {
        var copy = serializer.Deserialize(aggregate.GetType(), state);
        var visited = new HashSet<(object, object)>(PairComparer.Instance);
        foreach (var field in SnapshotShape.Of(aggregate.GetType()).Fields)
        {
            if (Compare(field.Field.GetValue(aggregate), field.Field.GetValue(copy), field.Name, visited, 0) is { } difference)
            {
                return difference;
            }
        }

        return null;
    }

    private static string? Compare(object? written, object? read, string path, HashSet<(object, object)> visited, int depth)
    {
        if (written is null || read is null)
        {
            return written is null && read is null ? null : Describe(path, written, read);
        }

        var type = written.GetType();
        if (type != read.GetType())
        {
            return $"{path}: a {type.Name} became a {read.GetType().Name}";
        }

        if (IsScalar(type))
        {
            return written.Equals(read) ? null : Describe(path, written, read);
        }

        if (depth > MaxDepth || (!type.IsValueType && !visited.Add((written, read))))
        {
            return null; // compared already (a shared or cyclic reference), or deeper than any state should be
        }

        return written switch
        {
            IDictionary dictionary => CompareDictionaries(dictionary, (IDictionary)read, path, visited, depth),
            IEnumerable sequence => CompareSequences(sequence, (IEnumerable)read, path, visited, depth),
            _ => CompareFields(written, read, type, path, visited, depth),
        };
    }

    private static string? CompareDictionaries(IDictionary written, IDictionary read, string path, HashSet<(object, object)> visited, int depth)
    {
        if (written.Count != read.Count)
        {
            return $"{path}: {written.Count} entries became {read.Count}";
        }

        foreach (DictionaryEntry entry in written)
        {
            var itemPath = $"{path}[{Format(entry.Key)}]";
            if (!read.Contains(entry.Key))
            {
                return $"{itemPath}: missing after reading back";
            }

            if (Compare(entry.Value, read[entry.Key], itemPath, visited, depth + 1) is { } difference)
            {
                return difference;
            }
        }

        return null;
    }

    private static string? CompareSequences(IEnumerable written, IEnumerable read, string path, HashSet<(object, object)> visited, int depth)
    {
        var left = written.Cast<object?>().ToList();
        var right = read.Cast<object?>().ToList();
        if (left.Count != right.Count)
        {
            return $"{path}: {left.Count} items became {right.Count}";
        }

        for (var i = 0; i < left.Count; i++)
        {
            if (Compare(left[i], right[i], $"{path}[{i}]", visited, depth + 1) is { } difference)
            {
                return difference;
            }
        }

        return null;
    }

    private static string? CompareFields(object written, object read, Type type, string path, HashSet<(object, object)> visited, int depth)
    {
        const BindingFlags instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        for (var t = type; t is not null && t != typeof(object) && t != typeof(ValueType); t = t.BaseType)
        {
            foreach (var field in t.GetFields(instance))
            {
                if (field.IsDefined(typeof(NonSerializedAttribute)) || typeof(Delegate).IsAssignableFrom(field.FieldType))
                {
                    continue;
                }

                var name = field.Name.StartsWith('<') && field.Name.IndexOf('>', StringComparison.Ordinal) is > 1 and var end ? field.Name[1..end] : field.Name;
                if (Compare(field.GetValue(written), field.GetValue(read), path + "." + name, visited, depth + 1) is { } difference)
                {
                    return difference;
                }
            }
        }

        return null;
    }

    private static bool IsScalar(Type type)
        => type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(DateTime)
           || type == typeof(DateTimeOffset) || type == typeof(TimeSpan) || type == typeof(Guid) || type == typeof(DateOnly)
           || type == typeof(TimeOnly) || type == typeof(Uri) || type == typeof(Version) || type == typeof(System.Numerics.BigInteger)
           || type == typeof(Half) || type == typeof(Int128) || type == typeof(UInt128) || type == typeof(Type) || type.IsSubclassOf(typeof(Type));

    private static string Describe(string path, object? written, object? read) => $"{path}: {Format(written)} became {Format(read)}";

    private static string Format(object? value)
        => value switch
        {
            null => "null",
            string text => "\"" + text + "\"",
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => value.GetType().Name,
        };

    private sealed class PairComparer : IEqualityComparer<(object, object)>
    {
        public static readonly PairComparer Instance = new();

        public bool Equals((object, object) x, (object, object) y) => ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);

        public int GetHashCode((object, object) obj)
            => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item1), System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item2));
    }
}
