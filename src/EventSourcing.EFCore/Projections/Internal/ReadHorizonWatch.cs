using System.Collections.Concurrent;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Storage.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// Warns when a catch-up projection has read everything read-all returns but committed events wait behind a transaction
/// open for <see cref="ProjectionHostOptions.ReadHorizonStallThreshold"/> or longer: the holder is named (once per projection and
/// holding transaction), so an operator sees within a minute who holds the store back.
/// </summary>
internal static class ReadHorizonWatch
{
    private const int MaxRemembered = 1024;

    private static readonly ConcurrentDictionary<(string Projection, ulong TransactionId), bool> Reported = new();

    public static async Task CheckAsync(
        DbContext context, IProjectionBackend backend, EventStoreModel model, string projection, GlobalCheckpoint end, TimeSpan threshold,
        CancellationToken cancellationToken)
    {
        var holder = await backend.FindHorizonHolderAsync(context, model, end, cancellationToken).ConfigureAwait(false);
        if (holder is null || holder.TransactionAge < threshold)
        {
            return;
        }

        if (Reported.Count >= MaxRemembered)
        {
            Reported.Clear();
        }

        if (Reported.TryAdd((projection, holder.TransactionId), true))
        {
            EventSourcingLoggers.Of(context).Projections.ReadHorizonHeldBack(
                projection, holder.TransactionId, holder.ProcessId, holder.Database, holder.ApplicationName, holder.State, holder.TransactionAge);
        }
    }
}
