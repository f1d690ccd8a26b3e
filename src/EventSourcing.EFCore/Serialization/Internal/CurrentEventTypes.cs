using EventSourcing.EFCore.Infrastructure.Internal;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// Which (stored name, version) pairs met by one aggregate load are of a current registered type, and which type:
/// resolved once per pair through the registry, then found by a short scan (a load reads names as the same string
/// instances, so the comparison is mostly a reference check). A pair that is not current (an alias, an older version,
/// an obsolete or unknown name) answers null and goes through <see cref="StoredEventDecoder"/>'s full path each time.
/// </summary>
internal sealed class CurrentEventTypes(EventSourcingOptionsExtension options)
{
    /// <summary>How many pairs one load keeps; past that, a pair is resolved through the registry each time.</summary>
    internal const int Capacity = 16;

    private readonly string[] _names = new string[Capacity];
    private readonly int[] _versions = new int[Capacity];
    private readonly Type?[] _types = new Type?[Capacity];
    private int _count;

    /// <summary>Returns the current CLR type of <paramref name="eventType"/> at <paramref name="version"/>, or null when it is not current.</summary>
    public Type? Find(string eventType, int version)
    {
        for (var i = 0; i < _count; i++)
        {
            if (_versions[i] == version && _names[i] == eventType)
            {
                return _types[i];
            }
        }

        var type = options.Upcasting.IsCurrent(eventType, version, out var clrType) ? clrType : null;
        if (_count < Capacity)
        {
            _names[_count] = eventType;
            _versions[_count] = version;
            _types[_count++] = type;
        }

        return type;
    }
}
