namespace EventSourcing.EFCore.Storage;

/// <summary>
/// The EF Core entity behind one outbox message (table <c>es_outbox</c> by default): a copy of an event chosen by
/// <c>UseOutbox</c>, written in the same SaveChanges as the event and handed to an <see cref="IOutboxPublisher"/>
/// after commit by <c>db.Outbox().DispatchPendingAsync</c> or the hosted dispatcher.
/// </summary>
/// <remarks>
/// Application code normally uses <c>db.Outbox()</c>. The entity is public so that EF migrations and compiled models can
/// refer to it, and so that dead letters can be queried with LINQ.
/// </remarks>
public sealed class StoredOutboxMessage
{
    /// <summary>Gets or sets the row id (identity column, primary key).</summary>
    public long Id { get; set; }

    /// <summary>Gets or sets the id of the event; it is also the message id given to the publisher.</summary>
    public Guid EventId { get; set; }

    /// <summary>Gets or sets the destination (topic, exchange, queue) chosen by the outbox route.</summary>
    public string Destination { get; set; } = null!;

    /// <summary>Gets or sets the stable event type name.</summary>
    public string EventType { get; set; } = null!;

    /// <summary>Gets or sets the type of the event's stream.</summary>
    public string StreamType { get; set; } = null!;

    /// <summary>Gets or sets the id of the event's stream within its type.</summary>
    public string StreamId { get; set; } = null!;

    /// <summary>Gets or sets the event's version in its stream (messages of a stream are dispatched in this order).</summary>
    public long StreamVersion { get; set; }

    /// <summary>Gets or sets the event as JSON.</summary>
    public string Payload { get; set; } = null!;

    /// <summary>Gets or sets the message headers as a flat JSON object of strings (without the global position, added at dispatch).</summary>
    public string Headers { get; set; } = null!;

    /// <summary>Gets or sets the UTC time the message was written.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Gets or sets the number of publish attempts made so far (counted when a dispatcher claims the message).</summary>
    public int Attempts { get; set; }

    /// <summary>
    /// Gets or sets the database time before which the message is not (re)tried. A message never attempted
    /// (<see cref="Attempts"/> 0) is due at once.
    /// </summary>
    public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>Gets or sets the UTC time the publisher accepted the message; <see langword="null"/> while it is pending.</summary>
    public DateTimeOffset? DispatchedAt { get; set; }

    /// <summary>Gets or sets the UTC time the message became a dead letter (attempts exhausted); <see langword="null"/> otherwise.</summary>
    public DateTimeOffset? DeadLetteredAt { get; set; }

    /// <summary>Gets or sets the last publish error (exception type and message), or <see langword="null"/>.</summary>
    public string? LastError { get; set; }

    /// <summary>Gets or sets the claim that holds the message while a dispatcher publishes it; <see langword="null"/> when none does.</summary>
    public string? LeaseOwner { get; set; }

    /// <summary>Gets or sets the database time the current lease expires (then another dispatcher may claim the message); <see langword="null"/> when not leased.</summary>
    public DateTimeOffset? LeaseExpiresAt { get; set; }
}
