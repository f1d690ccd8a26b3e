using System.Runtime.CompilerServices;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Serialization.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// Reads events of one context: a stream by version range, all events in commit order, a stream's version. Reads
/// page until the end; nothing is silently capped. Rows become typed <see cref="RecordedEvent"/>s here.
/// </summary>
internal sealed class EventReader(ICurrentDbContext currentContext, IEventStoreBackend backend, IDbContextOptions options)
{
    internal const int StreamPageSize = 1000;

    private readonly EventSourcingOptionsExtension _options = options.FindExtension<EventSourcingOptionsExtension>()!;

    private DbContext Context => currentContext.Context;

    public async IAsyncEnumerable<RecordedEvent> ReadStreamAsync(
        StreamId streamId, long fromVersion, long? toVersion, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var model = EventStoreModel.Get(Context.Model);
        var hasTransactionId = model.Events.FindProperty(EventStoreModel.TransactionIdProperty) is not null;
        var next = Math.Max(fromVersion, 1);
        var last = toVersion ?? long.MaxValue;
        while (next <= last)
        {
            var query = Context.Set<StoredEvent>()
                .AsNoTracking()
                .Where(e => e.StreamType == streamId.Type && e.StreamId == streamId.Id && e.Sequence >= next && e.Sequence <= last)
                .OrderBy(e => e.Sequence)
                .Take(StreamPageSize);
            var page = hasTransactionId
                ? await query.Select(e => new EventRow(e, EF.Property<ulong>(e, EventStoreModel.TransactionIdProperty))).ToListAsync(cancellationToken).ConfigureAwait(false)
                : (await query.ToListAsync(cancellationToken).ConfigureAwait(false)).ConvertAll(e => new EventRow(e, 0));

            foreach (var row in page)
            {
                if (row.Event.Sequence != next)
                {
                    throw new EventStoreCorruptionException(streamId, row.Event.GlobalPosition, Messages.StreamGap(streamId, next, row.Event.Sequence));
                }

                yield return ToRecordedEvent(row, streamId);
                next++;
            }

            if (page.Count < StreamPageSize)
            {
                yield break;
            }
        }
    }

    public async IAsyncEnumerable<RecordedEvent> ReadAllAsync(
        GlobalCheckpoint checkpoint, int batchSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var model = EventStoreModel.Get(Context.Model);
        var after = checkpoint;

        // Keep the connection open from the first page to the last (not one pooled open and reset per page).
        var context = Context;
        await backend.BeginReadAsync(context, cancellationToken).ConfigureAwait(false);

        try
        {
            // One buffer for every page of this read; each row is decoded as the backend reads it from the columns.
            var options = _options;
            var page = new ReadAllPage(batchSize, (in ReadAllRow row, ReadOnlySpan<byte> utf8Payload) => StoredEventDecoder.Event(options, row, utf8Payload));
            while (true)
            {
                var from = after;
                page.Clear();
                await ReadAllTelemetry.ReadPageAsync(from, page, () => backend.ReadAllPageAsync(Context, model, from, batchSize, page, cancellationToken)).ConfigureAwait(false);
                for (var i = 0; i < page.Count; i++)
                {
                    var recorded = LogIfObsolete(page[i]);
                    yield return recorded;
                    after = recorded.Checkpoint;
                }

                if (page.Count < batchSize)
                {
                    yield break;
                }
            }
        }
        finally
        {
            await backend.EndReadAsync(context).ConfigureAwait(false);
        }
    }

    public async Task<long?> GetStreamVersionAsync(StreamId streamId, CancellationToken cancellationToken)
    {
        EventStoreModel.Get(Context.Model);
        return await Context.Set<StoredEvent>()
            .AsNoTracking()
            .Where(e => e.StreamType == streamId.Type && e.StreamId == streamId.Id)
            .MaxAsync(e => (long?)e.Sequence, cancellationToken)
            .ConfigureAwait(false);
    }

    private RecordedEvent ToRecordedEvent(EventRow row, StreamId? expectedStream) => LogIfObsolete(StoredEventDecoder.Event(_options, row, expectedStream));

    /// <summary>Logs the read of an event whose type was declared obsolete (<see cref="ObsoleteEvent"/>), and returns it.</summary>
    private RecordedEvent LogIfObsolete(RecordedEvent recorded)
    {
        if (recorded.IsObsolete)
        {
            EventSourcingLoggers.Of(Context).Streams.ObsoleteEventRead(recorded.StreamId, recorded.Version, recorded.StoredEventType, recorded.EventTypeVersion);
        }

        return recorded;
    }
}
