namespace EventSourcing.EFCore;

/// <summary>
/// Sets the schema version of an aggregate type's snapshots (default 1). Bump it when the meaning of the aggregate's state
/// changes in a way its field list does not show (a field's type or units change, a nested type changes shape): stored
/// snapshots of other versions are then ignored and the aggregate is rebuilt from its events.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class SnapshotVersionAttribute : Attribute
{
    /// <summary>Initializes the attribute with the snapshot schema version.</summary>
    /// <param name="version">The schema version, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is below 1.</exception>
    public SnapshotVersionAttribute(int version)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        Version = version;
    }

    /// <summary>Gets the schema version of the aggregate type's snapshots.</summary>
    public int Version { get; }
}
