using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;

namespace EventSourcing.EFCore.Aggregates.Internal;

/// <summary>
/// The <c>Apply(TEvent)</c> methods of an aggregate type (any accessibility, declared on it or a base class), found
/// once per type and compiled to delegates, so replaying an event costs a dictionary lookup and a call, no reflection.
/// </summary>
internal static class AggregateHandlers
{
    private static readonly ConcurrentDictionary<Type, IReadOnlyDictionary<Type, Action<object, object>>> Cache = new();

    public static IReadOnlyDictionary<Type, Action<object, object>> For(Type aggregateType) => Cache.GetOrAdd(aggregateType, Discover);

    private static Dictionary<Type, Action<object, object>> Discover(Type aggregateType)
    {
        var handlers = new Dictionary<Type, Action<object, object>>();
        for (var type = aggregateType; type is not null && type != typeof(object); type = type.BaseType)
        {
            var methods = type.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Where(m => m.Name == "Apply" && !m.IsGenericMethodDefinition && m.GetParameters().Length == 1);
            foreach (var method in methods)
            {
                var eventType = method.GetParameters()[0].ParameterType;
                if (eventType == typeof(object) || handlers.ContainsKey(eventType))
                {
                    continue; // the most derived declaration wins
                }

                handlers[eventType] = Compile(aggregateType, method, eventType);
            }
        }

        return handlers;
    }

    private static Action<object, object> Compile(Type aggregateType, MethodInfo method, Type eventType)
    {
        var aggregate = Expression.Parameter(typeof(object), "aggregate");
        var @event = Expression.Parameter(typeof(object), "event");
        var call = Expression.Call(Expression.Convert(aggregate, aggregateType), method, Expression.Convert(@event, eventType));
        return Expression.Lambda<Action<object, object>>(call, aggregate, @event).Compile();
    }
}
