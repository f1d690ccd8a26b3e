using System.Text;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// The event type names met by one aggregate load, each allocated once: a row's event type column is matched by its
/// UTF-8 bytes against the names already met (a stream holds few distinct types, so a byte comparison over a short
/// list beats decoding and hashing), and a name not met yet is decoded and kept (up to <see cref="MaxNames"/>; past
/// that, or for a value longer than <see cref="StoredNameTable.MaxNameBytes"/>, the text is returned without being kept).
/// The same name read twice is the same string instance, which lets the load resolve each name once. The lists start
/// small and grow as names are met.
/// </summary>
internal sealed class LoadedEventTypeNames
{
    /// <summary>How many distinct names one load keeps.</summary>
    internal const int MaxNames = 32;

    /// <summary>UTF-8 that throws on invalid bytes, as Npgsql's own text reading does.</summary>
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private byte[][] _bytes = new byte[4][];
    private string[] _names = new string[4];
    private int _count;
    private int _last;

    /// <summary>Returns the text of <paramref name="utf8"/>, the same instance each time the same name is read.</summary>
    /// <exception cref="DecoderFallbackException"><paramref name="utf8"/> is not valid UTF-8.</exception>
    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (_count > 0 && utf8.SequenceEqual(_bytes[_last]))
        {
            return _names[_last];
        }

        for (var i = 0; i < _count; i++)
        {
            if (utf8.SequenceEqual(_bytes[i]))
            {
                _last = i;
                return _names[i];
            }
        }

        var name = Utf8.GetString(utf8);
        if (_count < MaxNames && utf8.Length <= StoredNameTable.MaxNameBytes)
        {
            if (_count == _names.Length)
            {
                Array.Resize(ref _bytes, _count * 2);
                Array.Resize(ref _names, _count * 2);
            }

            _bytes[_count] = utf8.ToArray();
            _names[_count] = name;
            _last = _count++;
        }

        return name;
    }
}
