using EventSourcing.EFCore.Diagnostics.Internal;
namespace EventSourcing.EFCore;

/// <summary>
/// Thrown when a projection's handler fails (the inner exception is the handler's), when a catch-up projection
/// cannot read an event of a type it handles (the inner exception is an <see cref="EventDeserializationException"/>), or
/// when its prefetch hook (<see cref="Projection{TContext}.PrefetchAsync"/>) fails (the inner exception is the hook's; the
/// exception names the batch's first event). A catch-up projection does not
/// advance: nothing of the failing batch is saved and its checkpoint stays before the failing event. An inline
/// projection fails its SaveChanges: nothing is written.
/// </summary>
public sealed class ProjectionFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="projection">The projection's name.</param>
    /// <param name="envelope">The event the handler failed on.</param>
    /// <param name="checkpoint">The projection's committed checkpoint, or <see langword="null"/> for an inline projection.</param>
    /// <param name="innerException">The handler's exception.</param>
    public ProjectionFailedException(string projection, RecordedEvent envelope, GlobalCheckpoint? checkpoint, Exception innerException)
        : base(Messages.ProjectionFailed(projection, envelope, checkpoint, innerException), innerException)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        Projection = projection;
        StreamId = envelope.StreamId;
        Version = envelope.Version;
        GlobalPosition = envelope.GlobalPosition;
        EventType = envelope.EventType;
        EventId = envelope.EventId;
        Checkpoint = checkpoint;
    }

    /// <summary>Creates the exception for an event of a type the catch-up projection handles that cannot be read.</summary>
    internal ProjectionFailedException(string projection, Guid eventId, GlobalCheckpoint checkpoint, EventDeserializationException innerException)
        : base(Messages.ProjectionCannotRead(projection, innerException, checkpoint), innerException)
    {
        Projection = projection;
        StreamId = innerException.StreamId;
        Version = innerException.Version;
        GlobalPosition = innerException.GlobalPosition;
        EventType = innerException.EventType;
        EventId = eventId;
        Checkpoint = checkpoint;
    }

    /// <summary>Creates the exception for a prefetch hook that failed on a batch (named by its first event).</summary>
    private ProjectionFailedException(string message, string projection, RecordedEvent first, GlobalCheckpoint? checkpoint, Exception innerException)
        : base(message, innerException)
    {
        Projection = projection;
        StreamId = first.StreamId;
        Version = first.Version;
        GlobalPosition = first.GlobalPosition;
        EventType = first.EventType;
        EventId = first.EventId;
        Checkpoint = checkpoint;
    }

    /// <summary>Creates the exception for a prefetch hook (<see cref="Projection{TContext}.PrefetchAsync"/>) that failed on a batch.</summary>
    internal static ProjectionFailedException PrefetchFailed(string projection, IReadOnlyList<RecordedEvent> events, GlobalCheckpoint? checkpoint, Exception innerException)
        => new(Messages.ProjectionPrefetchFailed(projection, events[0], events.Count, checkpoint, innerException), projection, events[0], checkpoint, innerException);

    /// <summary>Gets the projection's name.</summary>
    public string Projection { get; }

    /// <summary>Gets the stream of the failing event.</summary>
    public StreamId StreamId { get; }

    /// <summary>Gets the version of the failing event in its stream.</summary>
    public long Version { get; }

    /// <summary>Gets the global position of the failing event (0 for an inline projection: not assigned before the INSERT).</summary>
    public long GlobalPosition { get; }

    /// <summary>Gets the stable type name of the failing event.</summary>
    public string EventType { get; }

    /// <summary>Gets the id of the failing event.</summary>
    public Guid EventId { get; }

    /// <summary>Gets the catch-up projection's committed checkpoint, unchanged by the failure; null for an inline projection.</summary>
    public GlobalCheckpoint? Checkpoint { get; }
}
