using System.Data;
using EventSourcing.EFCore.Snapshots.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace EventSourcing.EFCore.PostgreSQL.Streams.Internal;

/// <summary>
/// Reads an aggregate load in ONE prepared statement on the context's connection (and transaction): the newest snapshot
/// of the stream at or below the load's last version as a first row, then the events after it, or from the first event
/// when there is no snapshot or its metadata (stream type, schema version, fingerprint) does not fit. One statement
/// reads both under one MVCC snapshot, so a save that commits a newer snapshot meanwhile cannot make them disagree.
/// When the client then finds that a snapshot the server accepted does not fit after all (its JSON does not
/// deserialize), the rest is dropped and the events are replayed from the first with the replay query.
/// </summary>
internal static class NpgsqlStreamLoader
{
    private const string SqlAnnotation = "EventSourcing:Npgsql:StreamLoadSql";

    public static async Task LoadAsync(
        NpgsqlEventStoreBackend backend, DbContext context, EventStoreModel model, StreamLoad load, CancellationToken cancellationToken)
    {
        var sql = load.Snapshot is null
            ? null
            : context.Model.GetOrAddRuntimeAnnotationValue(SqlAnnotation, static c => Sql(c.Context, c.Model), (Context: context, Model: model));
        if (sql is null)
        {
            await backend.ReplayAsync(context, model, load.StreamId, 1, load.ToVersion, load.OnEvent, cancellationToken).ConfigureAwait(false);
            return;
        }

        var restartAt = await ReadAsync(context, sql, load, cancellationToken).ConfigureAwait(false);
        if (restartAt is { } from && from <= load.ToVersion)
        {
            await backend.ReplayAsync(context, model, load.StreamId, from, load.ToVersion, load.OnEvent, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs the statement; returns the version to replay from when the server started the events elsewhere than the load wants.</summary>
    private static async Task<long?> ReadAsync(DbContext context, string sql, StreamLoad load, CancellationToken cancellationToken)
    {
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = (NpgsqlCommand)database.GetDbConnection().CreateCommand();
            await using var commandScope = command.ConfigureAwait(false);
            command.Transaction = (NpgsqlTransaction?)database.CurrentTransaction?.GetDbTransaction();
            command.CommandText = sql;
            var expected = load.Snapshot!;
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = load.StreamId.Type });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = load.StreamId.Id });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = load.ToVersion });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = expected.SnapshotType });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = expected.SchemaVersion });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = expected.Fingerprint });
            if (NpgsqlPreparation.ShouldPrepare(context, command.Connection!))
            {
                await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
            }

            var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            using var payload = new PayloadBuffer();
            StoredNameTable? names = null; // made at the first event
            var eventTypeAsBytes = reader.GetPostgresType(1).InternalName is "text" or "varchar";
            var first = true;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // Columns are read in order (sequential access). Only the first row can be the snapshot (sequence 0).
                var sequence = reader.GetInt64(0);
                if (first && sequence == 0)
                {
                    first = false;
                    var snapshotType = reader.GetString(1);
                    var schemaVersion = reader.GetInt32(2);
                    var state = reader.IsDBNull(3) ? null : reader.GetString(3);
                    var version = reader.GetInt64(4);
                    var fingerprint = reader.GetString(5);
                    var serverStart = reader.GetInt64(6);
                    var start = load.OnSnapshot(new SnapshotRow(version, snapshotType, schemaVersion, fingerprint, state));
                    if (start != serverStart)
                    {
                        return start;
                    }

                    continue;
                }

                first = false;
                var eventType = eventTypeAsBytes ? (names ??= new StoredNameTable(StoredNameTable.MaxNamesPerLoad)).Get(payload.Read(reader, 1).Span) : reader.GetString(1);
                var eventVersion = reader.GetInt32(2);
                var utf8 = payload.Read(reader, 3);
                var position = reader.GetInt64(4);
                if (!load.OnEvent(new ReplayRow(sequence, eventType, null, default, eventVersion, position) { Utf8Payload = utf8 }))
                {
                    break;
                }
            }

            return null;
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The statement: a materialized CTE of the newest snapshot (whether its metadata fits is decided there), its row
    /// first (sequence 0; state only when it fits; column 7: the version the events start at), then the events. JSON
    /// goes out as text (the same bytes jsonb sends, without its version byte) so that payloads are read as UTF-8 bytes. The rows
    /// come in this order because the Append node runs its branches in turn and cannot run them in parallel (a CTE scan
    /// is parallel-restricted); the events branch is ordered by its own index scan. No outer ORDER BY, so nothing sorts
    /// the whole stream. Null when the model has no snapshots entity.
    /// </summary>
    private static string? Sql(DbContext context, EventStoreModel model)
    {
        if (context.Model.FindEntityType(typeof(StoredSnapshot)) is not { } snapshots)
        {
            return null;
        }

        var helper = context.GetService<ISqlGenerationHelper>();
        var table = StoreObjectIdentifier.Table(snapshots.GetTableName()!, snapshots.GetSchema());
        string S(string property) => helper.DelimitIdentifier(snapshots.FindProperty(property)!.GetColumnName(table)!);
        var c = model.Columns;
        string Q(string column) => helper.DelimitIdentifier(column);
        return $"""
            WITH snapshot AS MATERIALIZED (
                SELECT {S(nameof(StoredSnapshot.Version))} AS version, {S(nameof(StoredSnapshot.SnapshotType))} AS snapshot_type,
                       {S(nameof(StoredSnapshot.SchemaVersion))} AS schema_version, {S(nameof(StoredSnapshot.Fingerprint))} AS fingerprint,
                       {S(nameof(StoredSnapshot.State))} AS state,
                       ({S(nameof(StoredSnapshot.SnapshotType))} = $4 AND {S(nameof(StoredSnapshot.SchemaVersion))} = $5 AND {S(nameof(StoredSnapshot.Fingerprint))} = $6) AS usable
                  FROM {helper.DelimitIdentifier(table.Name, table.Schema)}
                 WHERE {S(nameof(StoredSnapshot.StreamType))} = $1 AND {S(nameof(StoredSnapshot.StreamId))} = $2 AND {S(nameof(StoredSnapshot.Version))} <= $3
                 ORDER BY {S(nameof(StoredSnapshot.Version))} DESC
                 LIMIT 1)
            SELECT 0::bigint, snapshot_type, schema_version, CASE WHEN usable THEN state::text END, version, fingerprint,
                   CASE WHEN usable THEN version + 1 ELSE 1 END
              FROM snapshot
            UNION ALL
            (SELECT {Q(c.Sequence)}, {Q(c.EventType)}, {Q(c.EventVersion)}, {Q(c.Payload)}::text, {Q(c.GlobalPosition)}, NULL, NULL
               FROM {helper.DelimitIdentifier(model.Table, model.Schema)}
              WHERE {Q(c.StreamType)} = $1 AND {Q(c.StreamId)} = $2 AND {Q(c.Sequence)} <= $3
                AND {Q(c.Sequence)} >= COALESCE((SELECT version + 1 FROM snapshot WHERE usable), 1)
              ORDER BY {Q(c.Sequence)})
            """;
    }
}
