using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EventSourcing.EFCore.Infrastructure.Internal;

/// <summary>
/// Registers the library's options types the .NET way: named options per DbContext type, checked by their rules at
/// start-up (<c>ValidateOnStart</c>), and, for the <c>Action&lt;T&gt;</c> overloads, checked at once as well.
/// </summary>
internal static class ValidatedOptions
{
    /// <summary>Gets the options name used for <typeparamref name="TContext"/>: its full type name.</summary>
    public static string NameOf<TContext>() => NameOf(typeof(TContext));

    /// <summary>Gets the options name used for a context type: its full type name.</summary>
    public static string NameOf(Type contextType) => contextType.FullName ?? contextType.Name;

    /// <summary>Adds the named options, their validator and <c>ValidateOnStart</c>.</summary>
    public static OptionsBuilder<TOptions> Add<TOptions>(IServiceCollection services, string name, Func<TOptions, IEnumerable<OptionFailure?>> rules)
        where TOptions : class
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>>(new OptionRulesValidator<TOptions>(rules)));
        return services.AddOptions<TOptions>(name).ValidateOnStart();
    }

    /// <summary>
    /// Runs <paramref name="configure"/> on fresh options and throws <see cref="ArgumentOutOfRangeException"/> for the first
    /// broken rule, before anything is registered (the <c>Action&lt;T&gt;</c> overloads).
    /// </summary>
    public static void ThrowIfInvalid<TOptions>(Action<TOptions>? configure, Func<TOptions, IEnumerable<OptionFailure?>> rules)
        where TOptions : class, new()
    {
        var probe = new TOptions();
        configure?.Invoke(probe);
        OptionFailure.ThrowIfAny<TOptions>(rules(probe));
    }
}
