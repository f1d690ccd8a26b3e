using EventSourcing.EFCore.PostgreSQL.Streams.Internal;
using EventSourcing.EFCore;

namespace Microsoft.EntityFrameworkCore;

/// <summary>
/// Bulk import of whole new streams into a PostgreSQL event store with binary COPY (<c>db.Events().ImportAsync(…)</c>).
/// </summary>
public static class NpgsqlEventStoreImportExtensions
{
    /// <summary>
    /// Writes whole new streams with one binary COPY, far faster than appending through SaveChanges. Every event is
    /// validated, named from the registry and serialized as by <c>Append</c>; the streams get versions 1..n. The import
    /// is atomic: all streams are written, or none (it joins the context's current transaction, if any).
    /// </summary>
    /// <remarks>
    /// Requirements: every stream is new (has no events) and appears once; nothing else appends to these streams while
    /// the import runs. The database still enforces both (unique indexes and the stream guard), so a violation writes
    /// nothing and is reported as below. Staged appends and tracked changes of the context are not saved by an import.
    /// An import writes only the events: when an outbox route selects an imported event, an inline projection handles
    /// one, or a snapshot policy is configured for a stream's type, it is refused (nothing written) unless the overload
    /// taking <see cref="ImportWritePathFeatures.Skip"/> is used.
    /// </remarks>
    /// <param name="events">The context's event store, <c>db.Events()</c>.</param>
    /// <param name="streams">The streams to import, consumed once, lazily, while they are written.</param>
    /// <param name="cancellationToken">A token to cancel the import (nothing is written then).</param>
    /// <returns>The number of events written.</returns>
    /// <exception cref="ArgumentException">A stream id is default or appears twice, or a batch repeats an event id.</exception>
    /// <exception cref="EventValidationException">An event is invalid (too large, non-UTC timestamp, empty id …).</exception>
    /// <exception cref="UnknownEventTypeException">An event's type is not registered.</exception>
    /// <exception cref="StreamConcurrencyException">A stream already has events (expected <see cref="ExpectedVersion.NoStream"/>).</exception>
    /// <exception cref="DuplicateEventIdException">An event id is already stored.</exception>
    /// <exception cref="InvalidOperationException">
    /// The context does not use the PostgreSQL backend (<c>UsePostgreSql()</c>), or an outbox route, inline projection or
    /// snapshot policy applies to an imported event (nothing is written).
    /// </exception>
    public static Task<long> ImportAsync(this EventStore events, IEnumerable<StreamImport> streams, CancellationToken cancellationToken = default)
        => ImportAsync(events, streams, ImportWritePathFeatures.Refuse, cancellationToken);

    /// <inheritdoc cref="ImportAsync(EventStore, IEnumerable{StreamImport}, CancellationToken)"/>
    public static Task<long> ImportAsync(this EventStore events, IAsyncEnumerable<StreamImport> streams, CancellationToken cancellationToken = default)
        => ImportAsync(events, streams, ImportWritePathFeatures.Refuse, cancellationToken);

    /// <inheritdoc cref="ImportAsync(EventStore, IEnumerable{StreamImport}, CancellationToken)"/>
    /// <param name="events">The context's event store, <c>db.Events()</c>.</param>
    /// <param name="streams">The streams to import, consumed once, lazily, while they are written.</param>
    /// <param name="features">
    /// What to do when an outbox route, inline projection or snapshot policy applies to an imported event: refuse the
    /// import, or write the events without them (logged as <see cref="EventSourcingEventId.ImportSkippedWritePath"/>).
    /// </param>
    /// <param name="cancellationToken">A token to cancel the import (nothing is written then).</param>
    public static Task<long> ImportAsync(
        this EventStore events, IEnumerable<StreamImport> streams, ImportWritePathFeatures features, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(streams);
        return NpgsqlEventImporter.ImportAsync(events, streams.ToAsyncEnumerable(), features, cancellationToken);
    }

    /// <inheritdoc cref="ImportAsync(EventStore, IEnumerable{StreamImport}, ImportWritePathFeatures, CancellationToken)"/>
    public static Task<long> ImportAsync(
        this EventStore events, IAsyncEnumerable<StreamImport> streams, ImportWritePathFeatures features, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(streams);
        return NpgsqlEventImporter.ImportAsync(events, streams, features, cancellationToken);
    }
}
