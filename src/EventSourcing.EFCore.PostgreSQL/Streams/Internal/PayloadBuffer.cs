using System.Buffers;
using System.Data.Common;

namespace EventSourcing.EFCore.PostgreSQL.Streams.Internal;

/// <summary>
/// A pooled buffer that a text column is copied into as UTF-8 bytes, row after row (no string per payload, no
/// transcoding to UTF-16 and back before System.Text.Json reads it). The bytes are valid until the next read.
/// </summary>
internal sealed class PayloadBuffer : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(4096);

    /// <summary>Copies column <paramref name="ordinal"/> of the current row (sequential access: read in column order).</summary>
    public ReadOnlyMemory<byte> Read(DbDataReader reader, int ordinal)
    {
        using var stream = reader.GetStream(ordinal);
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
                _buffer.AsSpan(0, length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = larger;
            }

            var read = stream.Read(_buffer, length, _buffer.Length - length);
            if (read == 0)
            {
                return _buffer.AsMemory(0, length);
            }

            length += read;
        }
    }

    public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);
}
