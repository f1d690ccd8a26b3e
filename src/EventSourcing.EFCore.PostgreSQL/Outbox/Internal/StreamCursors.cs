using System.Collections.Concurrent;

namespace EventSourcing.EFCore.PostgreSQL.OutboxInternal;

/// <summary>
/// Where the next ordered claim of this process resumes its scan of the pending streams, per outbox table: after the
/// last stream the previous claim found due. Shared by the process's dispatchers (any start is correct; a shared one
/// spreads concurrent dispatchers over different streams). Starts before the first stream.
/// </summary>
internal sealed class StreamCursors
{
    private readonly ConcurrentDictionary<string, StreamKey> _after = new(StringComparer.Ordinal);

    public StreamKey Get(string table) => _after.TryGetValue(table, out var key) ? key : StreamKey.Start;

    public void Set(string table, StreamKey key) => _after[table] = key;
}
