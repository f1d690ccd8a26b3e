using System.Text;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// The stream type and event type names met by one read-all, each allocated once: a column's UTF-8 bytes are looked
/// up without allocating, and a name not seen yet is added (up to <see cref="MaxNames"/>; past that, or for a value
/// longer than <see cref="MaxNameBytes"/>, the text is returned without being kept).
/// </summary>
internal sealed class StoredNameTable
{
    /// <summary>How many distinct names one table keeps.</summary>
    internal const int MaxNames = 256;

    /// <summary>The longest UTF-8 value looked up (a valid name has at most <see cref="EFCore.StreamId.MaxLength"/> characters).</summary>
    internal const int MaxNameBytes = 4 * StreamId.MaxLength;

    /// <summary>UTF-8 that throws on invalid bytes, as Npgsql's own text reading does.</summary>
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public StoredNameTable() => _lookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Returns the text of <paramref name="utf8"/>, the same instance each time the same name is read.</summary>
    /// <exception cref="DecoderFallbackException"><paramref name="utf8"/> is not valid UTF-8.</exception>
    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxNameBytes)
        {
            return Utf8.GetString(utf8);
        }

        Span<char> chars = stackalloc char[utf8.Length];
        chars = chars[..Utf8.GetChars(utf8, chars)];
        if (_lookup.TryGetValue(chars, out var name))
        {
            return name;
        }

        name = new string(chars);
        if (_names.Count < MaxNames)
        {
            _names.Add(name, name);
        }

        return name;
    }
}
