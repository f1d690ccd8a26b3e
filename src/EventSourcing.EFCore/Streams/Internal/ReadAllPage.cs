using System.Runtime.ExceptionServices;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>Turns one read-all row, with its UTF-8 payload when <see cref="ReadAllRow.Payload"/> is null, into its envelope.</summary>
internal delegate RecordedEvent ReadAllRowDecoder(in ReadAllRow row, ReadOnlySpan<byte> utf8Payload);

/// <summary>
/// The buffer of one read-all, reused from page to page: the envelopes of the current page, one payload buffer, and the
/// names table that gives each stream type and event type name one string for the whole read. A backend fills it
/// (<see cref="ReservePayload"/>, then <see cref="Add"/>) after the reader has cleared it, and each row is decoded as it
/// is added, while the database is still sending the rest of the page: the client's decoding overlaps the server's
/// work instead of following it. A row that does not decode still fails only when the iteration reaches it: its
/// exception is kept and thrown, unchanged, by the indexer at that row; the rows after it are counted, not decoded.
/// </summary>
internal sealed class ReadAllPage
{
    private const int FirstRows = 16;
    private const int FirstPayloadBytes = 4096;

    private readonly ReadAllRowDecoder _decode;
    private RecordedEvent?[] _events;
    private byte[] _payload = [];
    private bool _payloadReserved;
    private ExceptionDispatchInfo? _failure;
    private int _failureIndex = -1;

    public ReadAllPage(int batchSize, ReadAllRowDecoder decode)
    {
        _decode = decode;
        _events = new RecordedEvent?[Math.Min(batchSize, FirstRows)];
    }

    /// <summary>Gets the number of rows of the current page.</summary>
    public int Count { get; private set; }

    /// <summary>Gets the global position of the current page's last row (0 when it has none).</summary>
    public long LastPosition { get; private set; }

    /// <summary>Gets the names table of this read.</summary>
    public StoredNameTable Names { get; } = new(StoredNameTable.MaxNamesPerRead);

    /// <summary>Gets the envelope of row <paramref name="index"/> of the current page.</summary>
    /// <exception cref="Exception">The row, or one before it on this page, did not decode: that row's exception, as raised.</exception>
    public RecordedEvent this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            if (_failureIndex >= 0 && index >= _failureIndex)
            {
                _failure!.Throw();
            }

            return _events[index]!;
        }
    }

    /// <summary>Starts a new page: no rows, no failure (the buffers are kept for reuse).</summary>
    public void Clear()
    {
        Array.Clear(_events, 0, Count);
        Count = 0;
        LastPosition = 0;
        _payloadReserved = false;
        _failure = null;
        _failureIndex = -1;
    }

    /// <summary>
    /// Appends a row to the current page and decodes it (its UTF-8 payload is the one reserved last with
    /// <see cref="ReservePayload"/>, when <see cref="ReadAllRow.Payload"/> is null).
    /// </summary>
    public void Add(in ReadAllRow row)
    {
        if (Count == _events.Length)
        {
            Array.Resize(ref _events, Math.Max(FirstRows, _events.Length * 2));
        }

        var index = Count++;
        LastPosition = row.GlobalPosition;
        var payload = row.Payload is null && _payloadReserved ? _payload.AsSpan(row.PayloadStart, row.PayloadLength) : default;
        _payloadReserved = false;
        if (_failure is not null)
        {
            return;
        }

        try
        {
            _events[index] = _decode(row, payload);
        }
        catch (Exception ex)
        {
            // Not a result built from a failure, and nothing swallowed: the exception (a cancellation raised by an
            // upcaster or converter too) is thrown as raised when the iteration reaches this row, after the rows before it.
            _failure = ExceptionDispatchInfo.Capture(ex);
            _failureIndex = index;
        }
    }

    /// <summary>
    /// Reserves <paramref name="length"/> bytes of the payload buffer for the row about to be added, and returns the
    /// buffer and where they start: write them, then <see cref="Add"/> the row (the buffer is reused by the next row).
    /// </summary>
    public (byte[] Buffer, int Start) ReservePayload(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length > _payload.Length)
        {
            _payload = new byte[Math.Max(length, Math.Max(FirstPayloadBytes, _payload.Length * 2))];
        }

        _payloadReserved = true;
        return (_payload, 0);
    }
}
