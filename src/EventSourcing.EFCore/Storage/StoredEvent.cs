namespace EventSourcing.EFCore.Storage;

/// <summary>
/// The EF Core entity behind one stored event (table <c>es_events</c> by default). Events are immutable: the library
/// never updates or deletes these rows, and application code should only read them.
/// </summary>
/// <remarks>
/// Application code normally reads events through <c>db.Events()</c>, which turns rows into typed
/// <see cref="RecordedEvent"/> envelopes. The entity is public so that EF migrations and compiled models can refer to it.
/// </remarks>
public sealed class StoredEvent
{
    /// <summary>Gets or sets the store-wide position (identity column, primary key).</summary>
    public long GlobalPosition { get; set; }

    /// <summary>Gets or sets the stream type.</summary>
    public string StreamType { get; set; } = null!;

    /// <summary>Gets or sets the stream id within its type.</summary>
    public string StreamId { get; set; } = null!;

    /// <summary>Gets or sets the 1-based sequence of the event in its stream.</summary>
    public long Sequence { get; set; }

    /// <summary>Gets or sets the store-wide unique event id.</summary>
    public Guid EventId { get; set; }

    /// <summary>Gets or sets the stable event type name.</summary>
    public string EventType { get; set; } = null!;

    /// <summary>Gets or sets the schema version of the event type.</summary>
    public int EventVersion { get; set; }

    /// <summary>Gets or sets the event as JSON.</summary>
    public string Payload { get; set; } = null!;

    /// <summary>Gets or sets the metadata as a flat JSON object of strings, or <see langword="null"/> when there is none.</summary>
    public string? Metadata { get; set; }

    /// <summary>Gets or sets the UTC time the event was appended.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}
