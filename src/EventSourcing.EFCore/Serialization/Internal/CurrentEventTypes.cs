using EventSourcing.EFCore.Infrastructure.Internal;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// Which (stored name, version) pairs met by one aggregate load are of a current registered type, and which type:
/// resolved once per pair through the registry, then found by a short scan (a load reads names as the same string
/// instances, so the comparison is mostly a reference check). A pair that is not current (an alias, an older version,
/// an obsolete or unknown name) answers null and goes through <see cref="StoredEventDecoder"/>'s full path each time.
/// The lists start small and grow as pairs are met.
/// </summary>
internal sealed class CurrentEventTypes(EventSourcingOptionsExtension options)
{
    /// <summary>How many pairs one load keeps; past that, a pair is resolved through the registry each time.</summary>
    internal const int Capacity = 16;

    private string[] _names = new string[4];
    private int[] _versions = new int[4];
    private Type?[] _types = new Type?[4];
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
            if (_count == _names.Length)
            {
                Array.Resize(ref _names, _count * 2);
                Array.Resize(ref _versions, _count * 2);
                Array.Resize(ref _types, _count * 2);
            }

            _names[_count] = eventType;
            _versions[_count] = version;
            _types[_count++] = type;
        }

        return type;
    }
}
