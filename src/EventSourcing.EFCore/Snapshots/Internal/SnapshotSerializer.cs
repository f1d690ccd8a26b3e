using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using System.Text.Json.Serialization.Metadata;
using System.Text.Json;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.Snapshots.Internal;

/// <summary>
/// Serializes aggregate state for snapshots with System.Text.Json: the aggregate object is written as its
/// <see cref="SnapshotShape"/> fields (so private setters and private fields round-trip without attributes), and every
/// field value through the user's serializer options (their converters and source-generated contexts apply).
/// </summary>
internal sealed class SnapshotSerializer
{
    private readonly JsonSerializerOptions _options;

    public SnapshotSerializer(JsonSerializerOptions? userOptions)
    {
        var baseOptions = userOptions ?? new JsonSerializerOptions(JsonSerializerDefaults.Web);
        // The user's resolver first (their converters and source-generated contexts), then reflection for the field
        // types a source-generated context for events does not list (long, decimal, collections of the state …).
        var inner = baseOptions.TypeInfoResolver is { } user
            ? JsonTypeInfoResolver.Combine(user, new DefaultJsonTypeInfoResolver())
            : new DefaultJsonTypeInfoResolver();
        _options = new JsonSerializerOptions(baseOptions)
        {
            TypeInfoResolver = new AggregateStateResolver(inner),
            AllowOutOfOrderMetadataProperties = true, // jsonb reorders keys (see EventSerializer.ReadingAnyKeyOrder)
        };
        _options.MakeReadOnly();
    }

    public string Serialize(object aggregate) => JsonSerializer.Serialize(aggregate, aggregate.GetType(), _options);

    /// <summary>Creates an aggregate of <paramref name="aggregateType"/> through its parameterless constructor and sets its fields from <paramref name="json"/>.</summary>
    /// <exception cref="JsonException">The JSON does not fit the aggregate's fields.</exception>
    /// <exception cref="NotSupportedException">A field's type cannot be deserialized.</exception>
    public object Deserialize(Type aggregateType, string json)
        => JsonSerializer.Deserialize(json, aggregateType, _options) ?? throw new JsonException("The snapshot state is null.");

    /// <summary>Describes aggregate types by their snapshot fields; all other types as the user's resolver does.</summary>
    private sealed class AggregateStateResolver(IJsonTypeInfoResolver inner) : IJsonTypeInfoResolver
    {
        private static readonly ConcurrentDictionary<Type, Func<object>> Constructors = new();

        public JsonTypeInfo? GetTypeInfo(Type type, JsonSerializerOptions options)
        {
            if (!SnapshotShape.Supports(type) || type.IsAbstract)
            {
                return inner.GetTypeInfo(type, options);
            }

            var shape = SnapshotShape.Of(type);
            var info = JsonTypeInfo.CreateJsonTypeInfo(type, options);
            info.CreateObject = Constructors.GetOrAdd(type, CompileConstructor);
            foreach (var field in shape.Fields)
            {
                var property = info.CreateJsonPropertyInfo(field.Field.FieldType, field.Name);
                var fieldInfo = field.Field;
                property.Get = fieldInfo.GetValue;
                property.Set = fieldInfo.SetValue;
                info.Properties.Add(property);
            }

            return info;
        }

        private static Func<object> CompileConstructor(Type type)
        {
            var constructor = type.GetConstructor(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, Type.EmptyTypes)
                ?? throw new InvalidOperationException(Messages.NoParameterlessConstructor(type));
            return Expression.Lambda<Func<object>>(Expression.New(constructor)).Compile();
        }
    }
}
