using System.Buffers;
using System.Data.Common;

namespace EventSourcing.EFCore.PostgreSQL.Streams.Internal;

/// <summary>
/// A pooled buffer that a text column is copied into as UTF-8 bytes, value after value (no string per payload, no
/// transcoding to UTF-16 and back before System.Text.Json reads it). The bytes are valid until the next read.
/// </summary>
internal sealed class PayloadBuffer : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(4096);

    /// <summary>
    /// Copies column <paramref name="ordinal"/> of the current row (sequential access: read in column order) with
    /// <see cref="DbDataReader.GetBytes"/>, which Npgsql serves for text columns as their UTF-8 bytes without a stream
    /// object per value.
    /// </summary>
    public ReadOnlyMemory<byte> Read(DbDataReader reader, int ordinal)
    {
        var length = checked((int)reader.GetBytes(ordinal, 0, null, 0, 0));
        if (length > _buffer.Length)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, _buffer.Length * 2));
        }

        var read = length == 0 ? 0 : (int)reader.GetBytes(ordinal, 0, _buffer, 0, length);
        return _buffer.AsMemory(0, read);
    }

    public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);
}
