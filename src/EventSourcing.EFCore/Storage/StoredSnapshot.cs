namespace EventSourcing.EFCore.Storage;

/// <summary>
/// The EF Core entity behind one aggregate snapshot (table <c>es_snapshots</c> by default): the aggregate's state after
/// the events 1..<see cref="Version"/> of its stream. Snapshots are written and read by the library; a stream normally
/// has one (its newest), and a snapshot that no longer matches the aggregate type is ignored and replaced.
/// </summary>
/// <remarks>The entity is public so that EF migrations and compiled models can refer to it.</remarks>
public sealed class StoredSnapshot
{
    /// <summary>Gets or sets the stream type.</summary>
    public string StreamType { get; set; } = null!;

    /// <summary>Gets or sets the stream id within its type.</summary>
    public string StreamId { get; set; } = null!;

    /// <summary>Gets or sets the stream version the state was taken at.</summary>
    public long Version { get; set; }

    /// <summary>Gets or sets the aggregate's stream type name that wrote the snapshot.</summary>
    public string SnapshotType { get; set; } = null!;

    /// <summary>Gets or sets the aggregate type's snapshot schema version (<see cref="SnapshotVersionAttribute"/>).</summary>
    public int SchemaVersion { get; set; }

    /// <summary>Gets or sets the fingerprint of the state's shape (its fields' names and types).</summary>
    public string Fingerprint { get; set; } = null!;

    /// <summary>Gets or sets the state as JSON.</summary>
    public string State { get; set; } = null!;

    /// <summary>Gets or sets the UTC time the snapshot was written.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}
