namespace EventSourcing.EFCore.Storage;

/// <summary>
/// The EF Core entity behind one event a catch-up projection skipped under
/// <see cref="ProjectionErrorPolicy.DeadLetter"/> (table <c>es_projection_dead_letters</c> by default): which event, and
/// the error its handler (or its deserialization) raised. Query it with <c>db.Set&lt;ProjectionDeadLetter&gt;()</c>;
/// <c>db.Projections().ReplayDeadLettersAsync(name)</c> applies the recorded events again and removes those that succeed.
/// </summary>
/// <remarks>The entity is public so that EF migrations and compiled models can refer to it.</remarks>
public sealed class ProjectionDeadLetter
{
    /// <summary>Gets or sets the name of the projection that skipped the event (first part of the primary key).</summary>
    public string Projection { get; set; } = null!;

    /// <summary>Gets or sets the skipped event's global position (second part of the primary key).</summary>
    public long GlobalPosition { get; set; }

    /// <summary>Gets or sets the transaction id part of the skipped event's checkpoint (PostgreSQL <c>xid8</c>; 0 on EF InMemory).</summary>
    public ulong TransactionId { get; set; }

    /// <summary>Gets or sets the skipped event's stream type.</summary>
    public string StreamType { get; set; } = null!;

    /// <summary>Gets or sets the skipped event's stream id within its type.</summary>
    public string StreamId { get; set; } = null!;

    /// <summary>Gets or sets the skipped event's version in its stream.</summary>
    public long Version { get; set; }

    /// <summary>Gets or sets the skipped event's id.</summary>
    public Guid EventId { get; set; }

    /// <summary>Gets or sets the skipped event's stored type name.</summary>
    public string EventType { get; set; } = null!;

    /// <summary>Gets or sets the full name of the exception type the handler or the deserialization raised.</summary>
    public string ErrorType { get; set; } = null!;

    /// <summary>Gets or sets the error's message (and those of its inner exceptions).</summary>
    public string Error { get; set; } = null!;

    /// <summary>Gets or sets how many times the event failed (1 when skipped, plus one per failed replay).</summary>
    public int Attempts { get; set; }

    /// <summary>Gets or sets when the event last failed (UTC).</summary>
    public DateTimeOffset FailedAt { get; set; }
}
