using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore;

/// <summary>
/// Thrown when stored transaction ids are above the database's own transaction counter, or a projection's checkpoint was
/// written by another database cluster: the store was restored (pg_dump/restore) or moved by logical replication to
/// another cluster, whose transaction ids mean something else. Read-all orders events
/// by (transaction id, position), so without a rebase new events would sort before the old ones and catch-up
/// projections would silently apply nothing. Rebase the stored transaction ids (see the documentation's rebase procedure
/// and <c>db.Projections().RebaseCheckpointAsync</c>).
/// </summary>
public sealed class CheckpointTransactionIdException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="projection">The projection whose checkpoint or events are affected.</param>
    /// <param name="storedCheckpoint">The projection's stored checkpoint.</param>
    /// <param name="highestStoredTransactionId">The highest transaction id stored with an event or the checkpoint.</param>
    /// <param name="nextTransactionId">The next transaction id of the database (<c>pg_snapshot_xmax</c>).</param>
    public CheckpointTransactionIdException(string projection, GlobalCheckpoint storedCheckpoint, ulong highestStoredTransactionId, ulong nextTransactionId)
        : base(Messages.CheckpointTransactionIdAhead(projection, storedCheckpoint, highestStoredTransactionId, nextTransactionId))
    {
        Projection = projection;
        StoredCheckpoint = storedCheckpoint;
        HighestStoredTransactionId = highestStoredTransactionId;
        NextTransactionId = nextTransactionId;
    }

    /// <summary>Creates the exception for a checkpoint written by another database cluster.</summary>
    /// <param name="projection">The projection whose checkpoint is affected.</param>
    /// <param name="storedCheckpoint">The projection's stored checkpoint.</param>
    /// <param name="storedSystemIdentifier">The system identifier of the cluster that wrote the checkpoint.</param>
    /// <param name="currentSystemIdentifier">The system identifier of the cluster the store is in now.</param>
    /// <param name="nextTransactionId">The next transaction id of the database (<c>pg_snapshot_xmax</c>).</param>
    public CheckpointTransactionIdException(
        string projection, GlobalCheckpoint storedCheckpoint, long storedSystemIdentifier, long currentSystemIdentifier, ulong nextTransactionId)
        : base(Messages.CheckpointFromAnotherCluster(projection, storedCheckpoint, storedSystemIdentifier, currentSystemIdentifier))
    {
        Projection = projection;
        StoredCheckpoint = storedCheckpoint;
        HighestStoredTransactionId = storedCheckpoint.TransactionId;
        NextTransactionId = nextTransactionId;
        StoredSystemIdentifier = storedSystemIdentifier;
        CurrentSystemIdentifier = currentSystemIdentifier;
    }

    /// <summary>Gets the projection whose checkpoint or events are affected.</summary>
    public string Projection { get; }

    /// <summary>Gets the projection's stored checkpoint (its <see cref="GlobalCheckpoint.Position"/> is what a rebase keeps).</summary>
    public GlobalCheckpoint StoredCheckpoint { get; }

    /// <summary>Gets the highest transaction id stored with an event or the checkpoint.</summary>
    public ulong HighestStoredTransactionId { get; }

    /// <summary>Gets the database's next transaction id, which every stored one should be below.</summary>
    public ulong NextTransactionId { get; }

    /// <summary>Gets the system identifier of the cluster that wrote the checkpoint, when that is the problem; otherwise <see langword="null"/>.</summary>
    public long? StoredSystemIdentifier { get; }

    /// <summary>Gets the system identifier of the cluster the store is in now, when the checkpoint's differs; otherwise <see langword="null"/>.</summary>
    public long? CurrentSystemIdentifier { get; }
}
