using System.Collections.Concurrent;
using EventSourcing.EFCore.Storage;
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
}
