namespace EventSourcing.EFCore;

/// <summary>
/// An object whose changes are recorded as events and appended by SaveChanges. <see cref="AggregateRoot{TId}"/>
/// implements it; an EF entity that keeps its state in a table and also records events may implement it directly.
/// Any aggregate loaded or added through <c>db.Aggregates&lt;T&gt;()</c>, and any tracked EF entity implementing this
/// interface, is drained by the context's SaveChanges.
/// </summary>
public interface IEventSourcedAggregate
{
    /// <summary>Gets the stream the aggregate's events are stored in.</summary>
    StreamId StreamId { get; }

    /// <summary>Gets the number of the aggregate's events stored so far (0 for a new aggregate).</summary>
    long Version { get; }

    /// <summary>Gets the events recorded since the aggregate was loaded or last saved, oldest first.</summary>
    IReadOnlyList<object> PendingEvents { get; }

    /// <summary>Gets a value indicating whether the aggregate is a read-only point-in-time view, which cannot be saved.</summary>
    bool IsReadOnly { get; }

    /// <summary>
    /// Called by the library after a SaveChanges stored the pending events: clears them and sets <see cref="Version"/>.
    /// Not intended for application code.
    /// </summary>
    /// <param name="version">The stream's version after the save.</param>
    void OnEventsSaved(long version);
}
