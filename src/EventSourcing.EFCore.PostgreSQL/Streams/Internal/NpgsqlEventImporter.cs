using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.PostgreSQL.Diagnostics.Internal;
using EventSourcing.EFCore.PostgreSQL.Storage.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace EventSourcing.EFCore.PostgreSQL.Streams.Internal;

/// <summary>
/// The binary COPY behind <c>ImportAsync</c>: events are prepared (validated, named, serialized) as by Append and
/// streamed into one COPY on the context's connection (and transaction). The database's unique indexes and stream
/// guard (a statement trigger, which COPY fires too) still apply; a violation aborts the COPY, so nothing is written,
/// and is classified afterwards on a separate connection into the library's typed exceptions.
/// </summary>
internal static class NpgsqlEventImporter
{
    public static async Task<long> ImportAsync(
        EventStore events, IAsyncEnumerable<StreamImport> streams, ImportWritePathFeatures features, CancellationToken cancellationToken)
    {
        if (!Enum.IsDefined(features))
        {
            throw new ArgumentOutOfRangeException(nameof(features), features, null);
        }

        var context = events.Context;
        if (context.GetService<IEventStoreBackend>() is not NpgsqlEventStoreBackend)
        {
            throw new InvalidOperationException(NpgsqlMessages.ImportNeedsPostgreSql);
        }

        var model = EventStoreModel.Get(context.Model);
        var options = events.OptionsExtension;
        var check = new ImportedEventCheck(options, skip: features == ImportWritePathFeatures.Skip);
        var sql = context.GetService<ISqlGenerationHelper>();
        var c = model.Columns;
        string Q(string column) => sql.DelimitIdentifier(column);
        var copy = $"COPY {sql.DelimitIdentifier(model.Table, model.Schema)} ({Q(c.StreamType)}, {Q(c.StreamId)}, {Q(c.Sequence)}, {Q(c.EventId)}, "
                   + $"{Q(c.EventType)}, {Q(c.EventVersion)}, {Q(c.Payload)}, {Q(c.Metadata)}, {Q(c.CreatedAt)}) FROM STDIN (FORMAT BINARY)";

        var imported = new HashSet<StreamId>();
        var eventIds = new List<Guid>();
        var firstEventOf = new List<(int FirstEvent, StreamId StreamId)>();
        long count = 0;
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = (NpgsqlConnection)database.GetDbConnection();
            try
            {
                var writer = await connection.BeginBinaryImportAsync(copy, cancellationToken).ConfigureAwait(false);
                await using (writer.ConfigureAwait(false))
                {
                    // A bulk import is bounded by the context's command timeout when one is set, else only by the token (zero: no timeout)
                    // (finishing a large COPY, with its index maintenance and stream guard, can take longer than the 30 s default).
                    writer.Timeout = database.GetCommandTimeout() is { } seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.Zero;

                    await foreach (var stream in streams.WithCancellation(cancellationToken).ConfigureAwait(false))
                    {
                        ArgumentNullException.ThrowIfNull(stream, nameof(streams));
                        StreamId.ThrowIfDefault(stream.StreamId, nameof(streams));
                        if (!imported.Add(stream.StreamId))
                        {
                            throw new ArgumentException(NpgsqlMessages.StreamImportedTwice(stream.StreamId), nameof(streams));
                        }

                        var prepared = EventPreparer.Prepare(options, stream.StreamId, stream.Events, recordTraceContext: false); // imported history keeps its own metadata
                        firstEventOf.Add((eventIds.Count, stream.StreamId));
                        for (var i = 0; i < prepared.Count; i++)
                        {
                            var e = prepared[i];
                            check.Check(stream.StreamId, i + 1L, e);
                            await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                            await writer.WriteAsync(stream.StreamId.Type, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                            await writer.WriteAsync(stream.StreamId.Id, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                            await writer.WriteAsync(i + 1L, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                            await writer.WriteAsync(e.EventId, NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
                            await writer.WriteAsync(e.EventType, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                            await writer.WriteAsync(e.EventTypeVersion, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                            await writer.WriteAsync(e.Payload, NpgsqlDbType.Jsonb, cancellationToken).ConfigureAwait(false);
                            if (e.Metadata is null)
                            {
                                await writer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                            }
                            else
                            {
                                await writer.WriteAsync(e.Metadata, NpgsqlDbType.Jsonb, cancellationToken).ConfigureAwait(false);
                            }

                            await writer.WriteAsync(e.Timestamp, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
                            eventIds.Add(e.EventId);
                        }

                        count += prepared.Count;
                    }

                    await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (PostgresException error) when (IsConflict(error, model))
            {
                throw await ClassifyAsync(context, model, imported, eventIds, firstEventOf, error, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }

        var loggers = EventSourcingLoggers.Of(context);
        loggers.Streams.EventsImported(imported.Count, count);
        if (check.FirstSkipped is { } skipped)
        {
            loggers.Streams.ImportSkippedWritePath(check.SkippedEvents, skipped);
        }

        return count;
    }

    private static bool IsConflict(PostgresException error, EventStoreModel model)
        => error.SqlState == PostgresErrorCodes.UniqueViolation && (error.ConstraintName == model.StreamIndexName || error.ConstraintName == model.EventIdIndexName)
           || error.SqlState == NpgsqlEventStoreSchema.StreamGapSqlState && error.ConstraintName == NpgsqlEventStoreSchema.GuardName(model.Table);

    /// <summary>Reads, on a separate connection (the context's transaction may be aborted), which stream or event id clashed.</summary>
    private static async Task<Exception> ClassifyAsync(
        DbContext context,
        EventStoreModel model,
        HashSet<StreamId> streams,
        List<Guid> eventIds,
        List<(int FirstEvent, StreamId StreamId)> firstEventOf,
        PostgresException error,
        CancellationToken cancellationToken)
    {
        var update = new DbUpdateException(error.MessageText, error);
        var probe = new NpgsqlFailureProbe(context, model, streams, eventIds);
        var own = (NpgsqlConnection)context.Database.GetDbConnection();
        var connection = own.CloneWith(own.ConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var command = error.ConstraintName == model.EventIdIndexName ? probe.LocationsCommand(connection) : probe.VersionsCommand(connection);
            await using (command.ConfigureAwait(false))
            {
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        if (error.ConstraintName == model.EventIdIndexName)
                        {
                            probe.AddLocation(reader);
                        }
                        else
                        {
                            probe.AddVersion(reader);
                        }
                    }
                }
            }
        }

        foreach (var (stream, version) in probe.State.Versions)
        {
            if (version > 0)
            {
                return new StreamConcurrencyException(stream, ExpectedVersion.NoStream, version, update);
            }
        }

        for (var i = 0; i < eventIds.Count; i++)
        {
            if (probe.State.Locations.TryGetValue(eventIds[i], out var location))
            {
                var owner = firstEventOf[firstEventOf.FindLastIndex(s => s.FirstEvent <= i)].StreamId;
                return new DuplicateEventIdException(eventIds[i], owner, location.StreamId, location.Version, update);
            }
        }

        return update;
    }
}
