using System.Globalization;

namespace EventSourcing.EFCore;

/// <summary>
/// The version a writer expects a stream to be at when it appends: a number, or one of the named sentinels
/// <see cref="Any"/>, <see cref="NoStream"/> and <see cref="StreamExists"/>.
/// </summary>
/// <remarks>
/// A stream's version is the number of events stored in it; the first event has version 1. <see cref="Exactly"/>(0)
/// is the same value as <see cref="NoStream"/>: there are no empty streams. <c>default(ExpectedVersion)</c> is
/// <see cref="NoStream"/>.
/// </remarks>
public readonly record struct ExpectedVersion
{
    private const long AnyValue = -1;
    private const long StreamExistsValue = -2;

    private readonly long _value;

    private ExpectedVersion(long value) => _value = value;

    /// <summary>Gets the sentinel that appends after whatever the stream holds, without checking its version.</summary>
    public static ExpectedVersion Any { get; } = new(AnyValue);

    /// <summary>Gets the sentinel that requires the stream to have no events yet.</summary>
    public static ExpectedVersion NoStream { get; } = new(0);

    /// <summary>Gets the sentinel that requires the stream to have at least one event, whatever its version.</summary>
    public static ExpectedVersion StreamExists { get; } = new(StreamExistsValue);

    /// <summary>
    /// Creates an expected version that requires the stream to be at exactly <paramref name="version"/>.
    /// </summary>
    /// <param name="version">The number of events the stream must hold; 0 means the stream must not exist.</param>
    /// <returns>The expected version.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is negative.</exception>
    public static ExpectedVersion Exactly(long version)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        return new ExpectedVersion(version);
    }

    /// <summary>Gets a value indicating whether this is <see cref="Any"/>.</summary>
    public bool IsAny => _value == AnyValue;

    /// <summary>Gets a value indicating whether this is <see cref="StreamExists"/>.</summary>
    public bool IsStreamExists => _value == StreamExistsValue;

    /// <summary>Gets a value indicating whether this is <see cref="NoStream"/> (the same as <c>Exactly(0)</c>).</summary>
    public bool IsNoStream => _value == 0;

    /// <summary>Gets the exact version required, or <see langword="null"/> for <see cref="Any"/> and <see cref="StreamExists"/>.</summary>
    public long? Version => _value >= 0 ? _value : null;

    /// <summary>
    /// Returns a value indicating whether a stream at <paramref name="actualVersion"/> meets this expectation.
    /// </summary>
    /// <param name="actualVersion">The stream's current version; <see langword="null"/> or 0 when it has no events.</param>
    /// <returns><see langword="true"/> when an append with this expected version may proceed.</returns>
    public bool IsSatisfiedBy(long? actualVersion)
    {
        var actual = actualVersion ?? 0;
        return _value switch
        {
            AnyValue => true,
            StreamExistsValue => actual > 0,
            _ => actual == _value,
        };
    }

    /// <summary>Returns <c>Any</c>, <c>NoStream</c>, <c>StreamExists</c> or <c>Exactly(n)</c>.</summary>
    /// <returns>A readable form of the expected version.</returns>
    public override string ToString() => _value switch
    {
        AnyValue => "Any",
        StreamExistsValue => "StreamExists",
        0 => "NoStream",
        _ => "Exactly(" + _value.ToString(CultureInfo.InvariantCulture) + ")",
    };
}
