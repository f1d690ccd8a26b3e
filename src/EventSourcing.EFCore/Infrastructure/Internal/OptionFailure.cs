using System.Globalization;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore.Infrastructure.Internal;

/// <summary>An option of a hosted service or health check whose value breaks one of its rules.</summary>
/// <param name="Option">The option's path, relative to its options type (<c>BatchSize</c>, <c>Outbox.MaxPendingAge</c>).</param>
/// <param name="Value">The value found.</param>
/// <param name="Rule">What the value must be (<c>at least 1</c>, <c>positive</c>).</param>
internal sealed record OptionFailure(string Option, object? Value, string Rule)
{
    public static OptionFailure? Positive(string option, TimeSpan value)
        => value > TimeSpan.Zero ? null : new OptionFailure(option, value, "positive");

    public static OptionFailure? AtLeast(string option, long value, long minimum)
        => value >= minimum ? null : new OptionFailure(option, value, "at least " + minimum.ToString(CultureInfo.InvariantCulture));

    /// <summary>Gets the message naming the option, its value and the rule.</summary>
    public string Message(Type optionsType) => Messages.OptionOutOfRange(optionsType.Name, Option, Value, Rule);

    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> for the first failure, its parameter named
    /// <c>configure.&lt;option&gt;</c>: the <c>Action&lt;T&gt;</c> overloads check their options when they are called.
    /// </summary>
    public static void ThrowIfAny<TOptions>(IEnumerable<OptionFailure?> failures)
    {
        if (failures.FirstOrDefault(f => f is not null) is { } failure)
        {
            throw new ArgumentOutOfRangeException("configure." + failure.Option, failure.Value, failure.Message(typeof(TOptions)));
        }
    }
}
