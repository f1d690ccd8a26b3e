namespace EventSourcing.EFCore.Testing;

/// <summary>
/// An aggregate specification failed: the command raised other events than expected, or did not throw. The message
/// lists the given, expected and actual events (type and JSON), and any test framework reports it as a failure.
/// </summary>
public sealed class AggregateSpecificationException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="AggregateSpecificationException"/> class.</summary>
    /// <param name="message">The failure, with the expected and actual events.</param>
    /// <param name="expected">The events the specification expected.</param>
    /// <param name="actual">The events the command raised.</param>
    public AggregateSpecificationException(string message, IReadOnlyList<object> expected, IReadOnlyList<object> actual)
        : base(message)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        Expected = expected;
        Actual = actual;
    }

    /// <summary>Gets the events the specification expected (empty when it expected an exception).</summary>
    public IReadOnlyList<object> Expected { get; }

    /// <summary>Gets the events the command raised.</summary>
    public IReadOnlyList<object> Actual { get; }
}
