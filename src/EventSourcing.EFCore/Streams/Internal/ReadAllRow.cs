namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// One stored event as read-all reads it, straight from the database's columns (no <c>StoredEvent</c> entity): the
/// envelope's columns, the payload either as text (<see cref="Payload"/>) or as UTF-8 bytes kept in the page's buffer
/// (<see cref="PayloadStart"/>, <see cref="PayloadLength"/>), and the transaction id that committed it (0 where the
/// backend has none).
/// </summary>
internal readonly struct ReadAllRow
{
    public required long GlobalPosition { get; init; }

    public required ulong TransactionId { get; init; }

    public required string StreamType { get; init; }

    public required string StreamId { get; init; }

    public required long Sequence { get; init; }

    public required Guid EventId { get; init; }

    public required string EventType { get; init; }

    public required int EventVersion { get; init; }

    /// <summary>Gets the payload as text, or null when it is UTF-8 in the page's buffer.</summary>
    public string? Payload { get; init; }

    /// <summary>Gets where the UTF-8 payload starts in the page's buffer (when <see cref="Payload"/> is null).</summary>
    public int PayloadStart { get; init; }

    /// <summary>Gets the length in bytes of the UTF-8 payload in the page's buffer (when <see cref="Payload"/> is null).</summary>
    public int PayloadLength { get; init; }

    public string? Metadata { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Gets the read-all cursor just after this event.</summary>
    public GlobalCheckpoint Checkpoint => new(TransactionId, GlobalPosition);
}
