using System.Linq.Expressions;
using System.Reflection;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.Aggregates.Internal;

/// <summary>Creates empty aggregates for rehydration through their parameterless constructor (any accessibility), compiled once.</summary>
internal static class AggregateFactory
{
    public static Func<TAggregate> For<TAggregate>()
        where TAggregate : class
    {
        var constructor = typeof(TAggregate).GetConstructor(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, Type.EmptyTypes);
        if (constructor is null || typeof(TAggregate).IsAbstract)
        {
            return () => throw new InvalidOperationException(Messages.NoParameterlessConstructor(typeof(TAggregate)));
        }

        return Expression.Lambda<Func<TAggregate>>(Expression.New(constructor)).Compile();
    }
}
