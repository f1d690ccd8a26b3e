namespace EventSourcing.EFCore.Storage;

/// <summary>
/// The EF Core entity behind a catch-up projection's checkpoint (table <c>es_checkpoints</c> by default): the read-all
/// cursor after the last event whose read-model changes were committed, saved in the same SaveChanges as them.
/// </summary>
/// <remarks>
/// Application code reads checkpoints through <c>db.Projections().GetLagAsync(name)</c>. The entity is public so that EF
/// migrations and compiled models can refer to it. <see cref="Position"/> and <see cref="TransactionId"/> are
/// concurrency tokens: of two runners of one projection, only one can move the checkpoint from a given value.
/// </remarks>
public sealed class ProjectionCheckpoint
{
    /// <summary>Gets or sets the projection's name (primary key).</summary>
    public string Projection { get; set; } = null!;

    /// <summary>Gets or sets the global position part of the checkpoint.</summary>
    public long Position { get; set; }

    /// <summary>Gets or sets the transaction id part of the checkpoint (PostgreSQL <c>xid8</c>; 0 on EF InMemory).</summary>
    public ulong TransactionId { get; set; }

    /// <summary>
    /// Gets or sets the identifier of the database cluster that wrote the checkpoint (PostgreSQL
    /// <c>pg_control_system().system_identifier</c>; <see langword="null"/> on EF InMemory, for a checkpoint at the start,
    /// and for one written before the library recorded it). Transaction ids mean something only in the cluster that
    /// assigned them: catch-up and lag refuse a checkpoint written by another cluster until it is rebased.
    /// </summary>
    public long? SystemIdentifier { get; set; }

    /// <summary>Gets or sets when the checkpoint was last written (UTC).</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}
