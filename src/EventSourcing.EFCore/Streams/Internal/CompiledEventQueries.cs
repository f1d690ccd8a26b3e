using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// The event store's hot queries, compiled once per model (a compiled query is bound to the model it was first run
/// with, so the compiled delegates live on the model as a runtime annotation): no LINQ translation or query-cache
/// lookup per call, no tracking.
/// </summary>
internal sealed class CompiledEventQueries
{
    /// <summary>
    /// The query tag (an SQL comment) of commands whose text is fixed, so that a provider may prepare them once per
    /// physical connection (PostgreSQL does).
    /// </summary>
    public const string PreparableTag = "EventSourcing:preparable";

    private const string CacheAnnotation = "EventSourcing:CompiledEventQueries";

    private CompiledEventQueries()
    {
    }

    /// <summary>Gets the rows a replay needs (sequence, type name, payload, time, type version, position) of one stream's version range, streamed in version order.</summary>
    public Func<DbContext, string, string, long, long, IAsyncEnumerable<ReplayRow>> StreamForReplay { get; } =
        EF.CompileAsyncQuery((DbContext context, string type, string id, long from, long to) =>
            context.Set<StoredEvent>()
                .AsNoTracking()
                .TagWith(PreparableTag)
                .Where(e => e.StreamType == type && e.StreamId == id && e.Sequence >= from && e.Sequence <= to)
                .OrderBy(e => e.Sequence)
                .Select(e => new ReplayRow(e.Sequence, e.EventType, e.Payload, e.CreatedAt, e.EventVersion, e.GlobalPosition)));

    /// <summary>Runs <see cref="StreamForReplay"/> for <paramref name="context"/>'s model, handing each row to <paramref name="onRow"/> until it returns false.</summary>
    public static async Task ReplayAsync(
        DbContext context, StreamId streamId, long fromVersion, long toVersion, Func<ReplayRow, bool> onRow, CancellationToken cancellationToken)
    {
        var rows = Get(context.Model).StreamForReplay(context, streamId.Type, streamId.Id, fromVersion, toVersion);
        await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (!onRow(row))
            {
                break;
            }
        }
    }

    public static CompiledEventQueries Get(IModel model)
        => model.GetOrAddRuntimeAnnotationValue(CacheAnnotation, static _ => new CompiledEventQueries(), (object?)null);
}

/// <summary>
/// What replaying an aggregate reads of one stored event. The payload is the JSON text, or (when <see cref="Payload"/>
/// is null) its UTF-8 bytes in <see cref="Utf8Payload"/>, valid only while the row is being handled.
/// </summary>
internal readonly record struct ReplayRow(long Sequence, string EventType, string? Payload, DateTimeOffset CreatedAt, int EventVersion, long GlobalPosition)
{
    public ReadOnlyMemory<byte> Utf8Payload { get; init; }
}
