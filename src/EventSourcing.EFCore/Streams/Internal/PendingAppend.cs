namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>One stream batch staged on a context: written by its next successful SaveChanges.</summary>
internal sealed class PendingAppend(
    StreamId streamId,
    ExpectedVersion expectedVersion,
    IReadOnlyList<PreparedEvent> events,
    IEventSourcedAggregate? source = null,
    Microsoft.EntityFrameworkCore.ChangeTracking.EntityEntry? sourceEntry = null)
{
    /// <summary>Gets the change tracker entry of <see cref="Source"/> when it is an EF entity.</summary>
    public Microsoft.EntityFrameworkCore.ChangeTracking.EntityEntry? SourceEntry { get; } = sourceEntry;

    /// <summary>Gets the aggregate whose pending events this batch holds, if any; it is told when the batch is saved.</summary>
    public IEventSourcedAggregate? Source { get; } = source;

    public StreamId StreamId { get; } = streamId;

    public ExpectedVersion ExpectedVersion { get; } = expectedVersion;

    public IReadOnlyList<PreparedEvent> Events { get; } = events;

    /// <summary>Gets the stream's version after the batch was saved; null until then.</summary>
    public long? ResultVersion { get; private set; }

    public void Complete(long resultVersion) => ResultVersion = resultVersion;
}
