using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.EFCore.Infrastructure.Internal;

/// <summary>
/// EF's <see cref="IInterceptors"/> (the same list: injected interceptors, then the options' <c>AddInterceptors</c>
/// ones), with the library's SaveChanges interceptor moved to the end. Its SavingChanges is then the last code that
/// runs before EF enters the save: no user interceptor can throw after it took the in-process append guard (or began
/// the transaction of its <see cref="ExpectedVersion.Any"/> locks), where EF would call no SavedChanges or
/// SaveChangesFailed to release it; and events that a user interceptor's SavingChanges raises are part of the save.
/// </summary>
internal sealed class EventSourcingInterceptors(
    IServiceProvider services, IEnumerable<IInterceptor> injected, IEnumerable<IInterceptorAggregator> aggregators) : IInterceptors
{
    private readonly Dictionary<Type, IInterceptorAggregator> _aggregators = aggregators.ToDictionary(a => a.InterceptorType);
    private List<IInterceptor>? _interceptors;

    public TInterceptor? Aggregate<TInterceptor>()
        where TInterceptor : class, IInterceptor
        => (TInterceptor?)_aggregators[typeof(TInterceptor)].AggregateInterceptors(_interceptors ??= Registered());

    /// <summary>
    /// Gets a value indicating whether the user registered a SaveChanges or command interceptor: a save that writes its
    /// event rows itself is then not taken (those interceptors would not see its command, nor its failure).
    /// </summary>
    public bool HasUserSaveOrCommandInterceptors
        => _hasOthers ??= (_interceptors ??= Registered()).Any(i => i is (ISaveChangesInterceptor or IDbCommandInterceptor) and not IEventSourcingInterceptor);

    private bool? _hasOthers;

    // Resolved lazily, as EF does: loggers (which aggregate interceptors) exist before the context's options do.
    private List<IInterceptor> Registered()
    {
        var all = injected.ToList();
        if (services.GetRequiredService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()?.Interceptors is { } configured)
        {
            all.AddRange(configured);
        }

        return [.. all.Where(i => i is not EventSourcingSaveChangesInterceptor), .. all.Where(i => i is EventSourcingSaveChangesInterceptor)];
    }
}
