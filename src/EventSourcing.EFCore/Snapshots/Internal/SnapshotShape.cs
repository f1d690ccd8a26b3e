using System.Collections.Concurrent;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.Snapshots.Internal;

/// <summary>
/// What a snapshot of an aggregate type holds: every instance field of the aggregate's own classes (private ones and
/// auto-property backing fields included, <see cref="NonSerializedAttribute"/> fields left out) plus the id, the type's
/// <see cref="SnapshotVersionAttribute"/> and a fingerprint of the field names and types, nested types of the
/// application included (their fields, recursively, and polymorphic derived types). Computed once per type.
/// </summary>
internal sealed class SnapshotShape
{
    private static readonly ConcurrentDictionary<Type, SnapshotShape> Shapes = new();

    private SnapshotShape(Type aggregateType)
    {
        AggregateType = aggregateType;
        SchemaVersion = aggregateType.GetCustomAttribute<SnapshotVersionAttribute>(inherit: false)?.Version ?? 1;
        Fields = CollectFields(aggregateType);
        Description = Describe(Fields);
        Fingerprint = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Description)))[..16];
    }

    /// <summary>Gets the text the fingerprint hashes: the fields' names and types, then the fields of the nested types.</summary>
    public string Description { get; }

    public Type AggregateType { get; }

    public int SchemaVersion { get; }

    public string Fingerprint { get; }

    public IReadOnlyList<SnapshotField> Fields { get; }

    public static SnapshotShape Of(Type aggregateType) => Shapes.GetOrAdd(aggregateType, static t => new SnapshotShape(t));

    /// <summary>Gets a value indicating whether aggregates of <paramref name="type"/> can be snapshotted (they derive from <see cref="AggregateRoot{TId}"/>).</summary>
    public static bool Supports(Type type) => FindRoot(type) is not null;

    private static Type? FindRoot(Type type)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(AggregateRoot<>))
            {
                return t;
            }
        }

        return null;
    }

    private static SnapshotField[] CollectFields(Type aggregateType)
    {
        var root = FindRoot(aggregateType) ?? throw new InvalidOperationException(Messages.SnapshotNotSupported(aggregateType));
        const BindingFlags declared = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        var fields = new List<SnapshotField>();
        var idField = root.GetField("<Id>k__BackingField", declared)
            ?? throw new InvalidOperationException(Messages.SnapshotNotSupported(aggregateType));
        fields.Add(new SnapshotField("Id", idField));

        var names = new HashSet<string>(StringComparer.Ordinal) { "Id" };
        for (var t = aggregateType; t != root; t = t.BaseType!)
        {
            foreach (var field in t.GetFields(declared).OrderBy(f => f.MetadataToken))
            {
                if (field.IsDefined(typeof(NonSerializedAttribute)) || field.IsLiteral)
                {
                    continue;
                }

                var name = FieldName(field);
                if (!names.Add(name))
                {
                    name = t.Name + "." + name; // a base class field hidden by a field of the same name
                    names.Add(name);
                }

                fields.Add(new SnapshotField(name, field));
            }
        }

        return [.. fields];
    }

    /// <summary>The field's JSON name: the property name for an auto-property backing field, else the field name.</summary>
    private static string FieldName(FieldInfo field)
        => field.Name.StartsWith('<') && field.Name.IndexOf(">k__BackingField", StringComparison.Ordinal) is > 1 and var end
            ? field.Name[1..end]
            : field.Name;

    private static string Describe(IReadOnlyList<SnapshotField> fields)
    {
        var shape = string.Join('\n', fields.Select(f => f.Name + ":" + TypeName(f.Field.FieldType)).Order(StringComparer.Ordinal));
        var nested = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            DescribeNested(field.Field.FieldType, nested);
        }

        foreach (var (name, members) in nested)
        {
            shape += "\n" + name + "{" + members + "}";
        }

        return shape;
    }

    /// <summary>
    /// Adds to <paramref name="described"/> the fields (names and types) of every type of the application that
    /// <paramref name="type"/> holds: its own fields, generic arguments, array elements and polymorphic derived types,
    /// recursively, so that a change inside a nested type changes the fingerprint too.
    /// </summary>
    private static void DescribeNested(Type type, SortedDictionary<string, string> described)
    {
        if (type.IsArray)
        {
            DescribeNested(type.GetElementType()!, described);
            return;
        }

        if (type.IsGenericType)
        {
            foreach (var argument in type.GetGenericArguments())
            {
                DescribeNested(argument, described);
            }
        }

        // The runtime's own types (string, decimal, List<T>, ValueTuple …) are named by TypeName already.
        if (type.IsPrimitive || type.Assembly == typeof(object).Assembly
            || type.Namespace is { } ns && (ns == "System" || ns.StartsWith("System.", StringComparison.Ordinal)))
        {
            return;
        }

        var name = TypeName(type);
        if (described.ContainsKey(name))
        {
            return;
        }

        if (type.IsEnum)
        {
            described[name] = string.Join(",", Enum.GetNames(type));
            return;
        }

        described[name] = ""; // marks it while its members are described (recursive types)
        const BindingFlags instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        var members = new List<string>();
        for (var t = type; t is not null && t != typeof(object) && t != typeof(ValueType); t = t.BaseType)
        {
            foreach (var field in t.GetFields(instance))
            {
                if (field.IsDefined(typeof(NonSerializedAttribute)))
                {
                    continue;
                }

                members.Add(FieldName(field) + ":" + TypeName(field.FieldType));
                DescribeNested(field.FieldType, described);
            }
        }

        foreach (var derived in type.GetCustomAttributes<System.Text.Json.Serialization.JsonDerivedTypeAttribute>(inherit: false))
        {
            members.Add("derived:" + TypeName(derived.DerivedType) + "=" + derived.TypeDiscriminator);
            DescribeNested(derived.DerivedType, described);
        }

        members.Sort(StringComparer.Ordinal);
        described[name] = string.Join(",", members);
    }

    /// <summary>A type's name without assembly versions, so a runtime upgrade does not change fingerprints.</summary>
    internal static string TypeName(Type type)
    {
        if (type.IsArray)
        {
            return TypeName(type.GetElementType()!) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        }

        var name = type.IsNested ? TypeName(type.DeclaringType!) + "+" + type.Name : type.Namespace + "." + type.Name;
        return type.IsGenericType && !type.IsGenericTypeDefinition
            ? name + "[" + string.Join(",", type.GetGenericArguments().Select(TypeName)) + "]"
            : name;
    }
}

/// <summary>One field of an aggregate's snapshot: its JSON name and the field it is read from and written to.</summary>
internal sealed record SnapshotField(string Name, FieldInfo Field);
