using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization.Metadata;
using System.Text.Json.Serialization;
using System.Text.Json;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// Checks, when the registry is built, that every registered event type's data can round-trip through the serializer
/// options: each type the event holds (nested types, collection elements, dictionary values, polymorphic derived types)
/// must have a constructor System.Text.Json can use, no member it writes but cannot set back (a property with a private
/// setter, a get-only auto-property no constructor parameter fills), and no public field it leaves out (a value tuple's
/// members without <see cref="JsonSerializerOptions.IncludeFields"/>). Checked once per registry and options.
/// </summary>
internal static class EventContracts
{
    private static readonly ConditionalWeakTable<EventTypeRegistry, ConditionalWeakTable<JsonSerializerOptions, object>> Checked = [];

    /// <exception cref="InvalidOperationException">An event type cannot round-trip; the message names each type and member.</exception>
    public static void Validate(EventTypeRegistry registry, JsonSerializerOptions options)
    {
        var byOptions = Checked.GetOrCreateValue(registry);
        if (byOptions.TryGetValue(options, out _))
        {
            return;
        }

        // What the first Serialize would do anyway: fix the options and fill in the default (reflection) resolver.
        options.MakeReadOnly(populateMissingResolver: true);
        var problems = new List<string>();
        foreach (var mapping in registry.Mappings.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            var visited = new HashSet<Type>();
            Check(mapping.ClrType, options, mapping.ClrType.Name, visited, problems, mapping);
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException(Messages.EventContractsBroken(problems));
        }

        byOptions.AddOrUpdate(options, true);
    }

    private static void Check(Type type, JsonSerializerOptions options, string path, HashSet<Type> visited, List<string> problems, EventTypeMapping mapping)
    {
        if (!visited.Add(type) || type.IsPrimitive || type == typeof(string) || type == typeof(object))
        {
            return;
        }

        JsonTypeInfo info;
        try
        {
            info = options.GetTypeInfo(type);
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            problems.Add(Messages.EventContractProblem(mapping.ClrType, mapping.Name, path, ex.Message));
            return;
        }

        switch (info.Kind)
        {
            case JsonTypeInfoKind.Enumerable:
                Check(info.ElementType!, options, path + "[]", visited, problems, mapping);
                break;
            case JsonTypeInfoKind.Dictionary:
                Check(info.ElementType!, options, path + "[key]", visited, problems, mapping);
                break;
            case JsonTypeInfoKind.Object:
                CheckObject(type, info, options, path, visited, problems, mapping);
                break;
        }

        foreach (var derived in info.PolymorphismOptions?.DerivedTypes ?? [])
        {
            Check(derived.DerivedType, options, path + "<" + derived.DerivedType.Name + ">", visited, problems, mapping);
        }
    }

    private static void CheckObject(
        Type type, JsonTypeInfo info, JsonSerializerOptions options, string path, HashSet<Type> visited, List<string> problems, EventTypeMapping mapping)
    {
        if (!type.IsAbstract && !type.IsInterface && info.CreateObject is null && !HasUsableConstructor(type))
        {
            problems.Add(Messages.EventContractProblem(mapping.ClrType, mapping.Name, path,
                $"{type.Name} has no constructor System.Text.Json can use (a public parameterless one, a single public one, or one marked [JsonConstructor])"));
        }

        var serialized = new HashSet<MemberInfo>();
        foreach (var property in info.Properties)
        {
            if (property.AttributeProvider is MemberInfo member)
            {
                serialized.Add(member);
            }

            if (property.Get is not null && property.Set is null && property.AssociatedParameter is null
                && property.AttributeProvider is PropertyInfo clr && LosesData(clr))
            {
                problems.Add(Messages.EventContractProblem(mapping.ClrType, mapping.Name, path + "." + clr.Name,
                    "it is written but cannot be set when read back (a non-public setter, or a get-only auto-property no constructor parameter fills): "
                    + "make the setter public or init, add [JsonInclude], or bind it to a constructor parameter"));
            }

            Check(property.PropertyType, options, path + "." + ((property.AttributeProvider as MemberInfo)?.Name ?? property.Name), visited, problems, mapping);
        }

        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public))
        {
            if (!serialized.Contains(field) && !field.IsDefined(typeof(JsonIgnoreAttribute)))
            {
                problems.Add(Messages.EventContractProblem(mapping.ClrType, mapping.Name, path + "." + field.Name,
                    "it is a public field, which the serializer options leave out (a value tuple's members are fields): "
                    + "use a record or a property, or set JsonSerializerOptions.IncludeFields"));
            }
        }
    }

    /// <summary>A property System.Text.Json writes but cannot set: data is lost unless it is computed from other members.</summary>
    private static bool LosesData(PropertyInfo property)
        => property.SetMethod is not null // a non-public setter
           || property.DeclaringType!.GetField($"<{property.Name}>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic) is not null; // get-only auto-property

    private static bool HasUsableConstructor(Type type)
    {
        if (type.IsValueType)
        {
            return true;
        }

        var all = type.GetConstructors(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        var isPublic = all.Where(c => c.IsPublic).ToArray();
        return isPublic.Any(c => c.GetParameters().Length == 0)
               || all.Any(c => c.IsDefined(typeof(JsonConstructorAttribute)))
               || isPublic.Length == 1;
    }
}
