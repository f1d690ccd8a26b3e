using EventSourcing.EFCore.Diagnostics.Internal;
namespace EventSourcing.EFCore;

/// <summary>Thrown by <c>LoadAsync</c> when the aggregate's stream has no events (or not as many as asked for).</summary>
public sealed class AggregateNotFoundException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="aggregateType">The aggregate's CLR type.</param>
    /// <param name="streamId">The stream that was read.</param>
    /// <param name="version">The version asked for, when a point in time was requested.</param>
    public AggregateNotFoundException(Type aggregateType, StreamId streamId, long? version = null)
        : base(Messages.AggregateNotFound(aggregateType, streamId, version))
    {
        AggregateType = aggregateType;
        StreamId = streamId;
        Version = version;
    }

    /// <summary>Gets the aggregate's CLR type.</summary>
    public Type AggregateType { get; }

    /// <summary>Gets the stream that was read.</summary>
    public StreamId StreamId { get; }

    /// <summary>Gets the version asked for, when a point in time was requested.</summary>
    public long? Version { get; }
}
