namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// The buffer of one read-all, reused from page to page: the rows of the current page (structs, no entity per row),
/// their UTF-8 payloads in one byte buffer, and the names table that gives each stream type and event type name one
/// string for the whole read. A backend fills it (<see cref="Add"/>, <see cref="ReservePayload"/>) after the reader
/// has cleared it; the reader turns its rows into envelopes one at a time as the caller iterates.
/// </summary>
internal sealed class ReadAllPage
{
    private const int FirstRows = 16;
    private const int FirstPayloadBytes = 4096;

    private ReadAllRow[] _rows;
    private byte[] _payloads = [];
    private int _payloadsUsed;

    public ReadAllPage(int batchSize)
        => _rows = new ReadAllRow[Math.Min(batchSize, FirstRows)];

    /// <summary>Gets the number of rows of the current page.</summary>
    public int Count { get; private set; }

    /// <summary>Gets the names table of this read.</summary>
    public StoredNameTable Names { get; } = new();

    /// <summary>Gets row <paramref name="index"/> of the current page.</summary>
    public ref readonly ReadAllRow this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            return ref _rows[index];
        }
    }

    /// <summary>Starts a new page: no rows, the payload buffer empty (both kept for reuse).</summary>
    public void Clear()
    {
        Array.Clear(_rows, 0, Count);
        Count = 0;
        _payloadsUsed = 0;
    }

    /// <summary>Appends a row to the current page.</summary>
    public void Add(in ReadAllRow row)
    {
        if (Count == _rows.Length)
        {
            Array.Resize(ref _rows, Math.Max(FirstRows, _rows.Length * 2));
        }

        _rows[Count++] = row;
    }

    /// <summary>
    /// Reserves <paramref name="length"/> bytes of the payload buffer for a row about to be added, and returns the
    /// buffer and where they start (the buffer may be a new, larger array: write before the next reservation).
    /// </summary>
    public (byte[] Buffer, int Start) ReservePayload(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var needed = _payloadsUsed + length;
        if (needed > _payloads.Length)
        {
            var grown = new byte[Math.Max(needed, Math.Max(FirstPayloadBytes, _payloads.Length * 2))];
            _payloads.AsSpan(0, _payloadsUsed).CopyTo(grown);
            _payloads = grown;
        }

        var start = _payloadsUsed;
        _payloadsUsed = needed;
        return (_payloads, start);
    }

    /// <summary>Returns the UTF-8 payload of <paramref name="row"/> (one whose <see cref="ReadAllRow.Payload"/> is null).</summary>
    public ReadOnlySpan<byte> Utf8Payload(in ReadAllRow row) => _payloads.AsSpan(row.PayloadStart, row.PayloadLength);
}
