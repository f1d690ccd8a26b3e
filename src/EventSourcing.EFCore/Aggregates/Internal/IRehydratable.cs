namespace EventSourcing.EFCore.Aggregates.Internal;

/// <summary>What loading needs of an aggregate beyond <see cref="IEventSourcedAggregate"/>: replay and read-only marking.</summary>
internal interface IRehydratable
{
    /// <summary>Applies a stored event and advances the version.</summary>
    void Replay(object @event);

    /// <summary>Turns the aggregate into a point-in-time view that cannot raise events or be saved.</summary>
    void MarkReadOnly();

    /// <summary>Sets the version of an aggregate whose state was just restored from a snapshot taken at <paramref name="version"/>.</summary>
    void RestoreVersion(long version);
}
