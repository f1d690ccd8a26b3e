namespace EventSourcing.EFCore;

/// <summary>
/// One whole new stream for <c>db.Events().ImportAsync(…)</c>: its id and all its events, oldest first (they get
/// versions 1..n).
/// </summary>
/// <param name="StreamId">The stream; it must not have events yet.</param>
/// <param name="Events">Event objects, or <see cref="EventData"/> to supply an id, metadata or timestamp.</param>
public sealed record StreamImport(StreamId StreamId, IEnumerable<object> Events);
