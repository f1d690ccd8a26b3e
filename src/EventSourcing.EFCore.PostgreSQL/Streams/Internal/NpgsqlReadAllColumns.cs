using System.Data.Common;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Npgsql;

namespace EventSourcing.EFCore.PostgreSQL.Streams.Internal;

/// <summary>
/// Reads the rows of one read-all page (selected with <see cref="NpgsqlEventStoreBackend.EventRowColumns"/>, read
/// sequentially) straight into a <see cref="ReadAllPage"/>, with no string per row where none is needed: the stream
/// type and event type names are looked up from their UTF-8 bytes in the read's <see cref="StoredNameTable"/>, and the
/// payload's UTF-8 bytes are copied into the page's buffer (PostgreSQL's binary format of <c>text</c>,
/// <c>varchar</c> and <c>json</c> is the UTF-8 text; of <c>jsonb</c>, a version byte, 1, then the text). Columns of
/// any other type are read as strings.
/// </summary>
internal sealed class NpgsqlReadAllColumns
{
    private const byte JsonbVersion = 1;

    private readonly bool _streamTypeAsBytes;
    private readonly bool _eventTypeAsBytes;
    private readonly int _payloadPrefix;
    private byte[] _name = new byte[64];

    /// <summary>Looks at the column types of <paramref name="reader"/>'s result once per page.</summary>
    public NpgsqlReadAllColumns(DbDataReader reader)
    {
        _streamTypeAsBytes = IsText(TypeOf(reader, 1));
        _eventTypeAsBytes = IsText(TypeOf(reader, 5));
        _payloadPrefix = TypeOf(reader, 7) switch
        {
            "jsonb" => 1,
            var type when IsText(type) || type == "json" => 0,
            _ => -1,
        };
    }

    /// <summary>Reads the current row of <paramref name="reader"/> into <paramref name="page"/>.</summary>
    /// <exception cref="EventStoreCorruptionException">A jsonb payload is in a binary format version other than 1.</exception>
    public void Read(DbDataReader reader, ReadAllPage page)
    {
        var position = reader.GetInt64(0);
        var streamType = _streamTypeAsBytes ? Name(reader, 1, page.Names) : reader.GetString(1);
        var streamId = reader.GetString(2);
        var sequence = reader.GetInt64(3);
        var eventId = reader.GetGuid(4);
        var eventType = _eventTypeAsBytes ? Name(reader, 5, page.Names) : reader.GetString(5);
        var eventVersion = reader.GetInt32(6);
        string? payload = null;
        int payloadStart = 0, payloadLength = 0;
        if (_payloadPrefix < 0)
        {
            payload = reader.GetString(7);
        }
        else
        {
            var length = checked((int)reader.GetBytes(7, 0, null, 0, 0));
            var (buffer, start) = page.ReservePayload(length);
            if (length > 0)
            {
                reader.GetBytes(7, 0, buffer, start, length);
            }

            if (_payloadPrefix == 1 && (length == 0 || buffer[start] != JsonbVersion))
            {
                throw new EventStoreCorruptionException(
                    default, position, Messages.UnknownJsonbFormat(position, reader.GetName(7), length == 0 ? -1 : buffer[start]));
            }

            payloadStart = start + _payloadPrefix;
            payloadLength = length - _payloadPrefix;
        }

        page.Add(new ReadAllRow
        {
            GlobalPosition = position,
            StreamType = streamType,
            StreamId = streamId,
            Sequence = sequence,
            EventId = eventId,
            EventType = eventType,
            EventVersion = eventVersion,
            Payload = payload,
            PayloadStart = payloadStart,
            PayloadLength = payloadLength,
            Metadata = reader.IsDBNull(8) ? null : reader.GetString(8),
            CreatedAt = reader.GetFieldValue<DateTimeOffset>(9),
            TransactionId = reader.GetFieldValue<ulong>(10),
        });
    }

    /// <summary>Returns the internal name of a column's type (<c>varchar</c>, not <c>character varying(256)</c>), or null when not known.</summary>
    private static string? TypeOf(DbDataReader reader, int ordinal)
        => reader is NpgsqlDataReader npgsql ? npgsql.GetPostgresType(ordinal).InternalName : null;

    private static bool IsText(string? type) => type is "text" or "varchar";

    private string Name(DbDataReader reader, int ordinal, StoredNameTable names)
    {
        var length = checked((int)reader.GetBytes(ordinal, 0, null, 0, 0));
        if (length > _name.Length)
        {
            _name = new byte[Math.Max(length, _name.Length * 2)];
        }

        var read = length == 0 ? 0 : (int)reader.GetBytes(ordinal, 0, _name, 0, length);
        return names.Get(_name.AsSpan(0, read));
    }
}
