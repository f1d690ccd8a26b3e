using System.Text;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// The names one read meets (the event types of an aggregate load; the stream and event types of a read-all), each
/// allocated once: a column's UTF-8 bytes are matched without allocating, and a name not met yet is decoded and kept,
/// up to the table's bound (past that, or for a value longer than <see cref="MaxNameBytes"/>, the text is returned
/// without being kept). The same name read twice is the same string instance, which lets a load resolve each name once.
/// A read meets few names, so the first <see cref="ListedNames"/> are compared by their bytes (the last one met first),
/// which beats decoding and hashing; names beyond them are decoded on the stack and looked up by their text.
/// </summary>
/// <param name="maxNames">How many distinct names the table keeps.</param>
internal sealed class StoredNameTable(int maxNames)
{
    /// <summary>How many distinct names an aggregate load keeps (a stream holds few event types).</summary>
    internal const int MaxNamesPerLoad = 32;

    /// <summary>How many distinct names a read-all keeps (every stream type and event type of the store).</summary>
    internal const int MaxNamesPerRead = 256;

    /// <summary>The longest UTF-8 value looked up (a valid name has at most <see cref="EFCore.StreamId.MaxLength"/> characters).</summary>
    internal const int MaxNameBytes = 4 * StreamId.MaxLength;

    /// <summary>How many names are compared by their bytes before the lookup by text.</summary>
    internal const int ListedNames = 16;

    /// <summary>UTF-8 that throws on invalid bytes, as Npgsql's own text reading does.</summary>
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private byte[][] _bytes = new byte[4][];
    private string[] _listed = new string[4];
    private int _count;
    private int _last;
    private Dictionary<string, string>? _more;
    private Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _moreByText;

    /// <summary>Gets how many names the table keeps now.</summary>
    public int Count => _count + (_more?.Count ?? 0);

    /// <summary>Returns the text of <paramref name="utf8"/>, the same instance each time the same name is read.</summary>
    /// <exception cref="DecoderFallbackException"><paramref name="utf8"/> is not valid UTF-8.</exception>
    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (_count > 0 && utf8.SequenceEqual(_bytes[_last]))
        {
            return _listed[_last];
        }

        for (var i = 0; i < _count; i++)
        {
            if (utf8.SequenceEqual(_bytes[i]))
            {
                _last = i;
                return _listed[i];
            }
        }

        // Invalid UTF-8 never matches a kept name (each was decoded from valid bytes): it reaches a decoder and throws.
        if (utf8.Length > MaxNameBytes)
        {
            return Utf8.GetString(utf8);
        }

        if (_count == ListedNames)
        {
            return GetMore(utf8);
        }

        var name = Utf8.GetString(utf8);
        if (_count < maxNames)
        {
            if (_count == _listed.Length)
            {
                Array.Resize(ref _bytes, _count * 2);
                Array.Resize(ref _listed, _count * 2);
            }

            _bytes[_count] = utf8.ToArray();
            _listed[_count] = name;
            _last = _count++;
        }

        return name;
    }

    private string GetMore(ReadOnlySpan<byte> utf8)
    {
        Span<char> chars = stackalloc char[utf8.Length];
        chars = chars[..Utf8.GetChars(utf8, chars)];
        if (_more is not null && _moreByText.TryGetValue(chars, out var kept))
        {
            return kept;
        }

        var name = new string(chars);
        if (Count < maxNames)
        {
            if (_more is null)
            {
                _more = new Dictionary<string, string>(StringComparer.Ordinal);
                _moreByText = _more.GetAlternateLookup<ReadOnlySpan<char>>();
            }

            _more.Add(name, name);
        }

        return name;
    }
}
