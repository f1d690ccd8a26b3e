using System.Collections.Concurrent;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// The projection backend for EF InMemory, which has no transactions: the units of one projection are serialised in
/// process, and the checkpoint's concurrency tokens back that up.
/// </summary>
internal sealed class InMemoryProjectionBackend : IProjectionBackend
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    public async Task<T> RunExclusiveAsync<T>(
        DbContext context, Projection projection, Func<DbContext, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        var gate = Gates.GetOrAdd(projection.Name, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ProjectionCheckpoints.EnsureAsync(context, projection.Name, cancellationToken).ConfigureAwait(false);
            return await work(context, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    public Task<ProjectionCheckpoint> LoadCheckpointForUpdateAsync(DbContext context, string projection, CancellationToken cancellationToken)
        => context.Set<ProjectionCheckpoint>().AsTracking().FirstAsync(c => c.Projection == projection, cancellationToken);

    /// <summary>Positions are assigned in commit order under the in-process append guard: read by position.</summary>
    public async Task<ProjectionPage> ReadPageAsync(
        DbContext context, EventStoreModel model, GlobalCheckpoint after, IReadOnlyList<string> eventTypes, int batchSize, CancellationToken cancellationToken)
    {
        var position = after.Position;
        var events = context.Set<StoredEvent>().AsNoTracking().Where(e => e.GlobalPosition > position);
        if (await events.MaxAsync(e => (long?)e.GlobalPosition, cancellationToken).ConfigureAwait(false) is not { } end)
        {
            return new ProjectionPage([], after, Full: false);
        }

        var rows = await events
            .Where(e => e.GlobalPosition <= end && eventTypes.Contains(e.EventType))
            .OrderBy(e => e.GlobalPosition)
            .Take(batchSize)
            .ToListAsync(cancellationToken)
            .ConfigureAwait(false);
        var full = rows.Count == batchSize;
        return new ProjectionPage(rows.ConvertAll(r => new EventRow(r, 0)), full ? new GlobalCheckpoint(0, rows[^1].GlobalPosition) : new GlobalCheckpoint(0, end), full);
    }
}
