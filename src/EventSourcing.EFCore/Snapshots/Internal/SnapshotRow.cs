namespace EventSourcing.EFCore.Snapshots.Internal;

/// <summary>
/// The newest stored snapshot of a stream as a load reads it: its version, the metadata that says whether it still fits
/// the aggregate type, and its state (null when the backend already saw that the metadata does not fit).
/// </summary>
internal readonly record struct SnapshotRow(long Version, string SnapshotType, int SchemaVersion, string Fingerprint, string? State);

/// <summary>What a stored snapshot must record to be usable by an aggregate type: its stream type name, <see cref="SnapshotVersionAttribute"/> and shape fingerprint.</summary>
internal sealed record SnapshotExpectation(string SnapshotType, int SchemaVersion, string Fingerprint);
