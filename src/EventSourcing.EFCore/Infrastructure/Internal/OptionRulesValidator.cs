using Microsoft.Extensions.Options;

namespace EventSourcing.EFCore.Infrastructure.Internal;

/// <summary>
/// Validates options of <typeparamref name="TOptions"/> (of any name) with their rules: the same rules the
/// <c>Action&lt;T&gt;</c> overloads check at registration, run by <c>ValidateOnStart</c> for options bound from configuration.
/// </summary>
internal sealed class OptionRulesValidator<TOptions>(Func<TOptions, IEnumerable<OptionFailure?>> rules) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var failures = rules(options).OfType<OptionFailure>().Select(f => f.Message(typeof(TOptions))).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
