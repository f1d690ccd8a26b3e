using System.Data.Common;
using System.Data;
using EventSourcing.EFCore.PostgreSQL.Storage.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace EventSourcing.EFCore.PostgreSQL.Streams.Internal;

/// <summary>
/// The PostgreSQL backend: the database enforces the unique indexes and the stream guard; its errors are recognised
/// here by SQLSTATE and constraint name (never by message text, which Npgsql redacts without Include Error Detail);
/// read-all returns only rows whose transaction id is below the oldest running transaction, ordered by (tx_id, position).
/// </summary>
internal sealed class NpgsqlEventStoreBackend : IEventStoreBackend
{
    public bool EnforcesUniqueIndexes => true;

    /// <summary>
    /// The PostgreSQL command batch writes all event rows of a save as one unnest statement from one tracked carrier
    /// row, when the events entity has only the columns it knows how to fill (the library's own mapping). Not when a
    /// column it writes has a database default or is computed (<c>HasDefaultValueSql</c> and the like make it
    /// store-generated): EF leaves such a column out of a row whose value is the CLR default, so that the database's
    /// value applies, where one statement for all rows would write the value of every row, or of none.
    /// </summary>
    public bool CarriesEventRows(EventStoreModel model)
        => model.Events.Model.GetOrAddRuntimeAnnotationValue(
            CarriesAnnotation,
            static events => events!.GetProperties().All(p => KnownProperties.Contains(p.Name) && p.GetValueConverter() is null
                && (p.ValueGenerated == Microsoft.EntityFrameworkCore.Metadata.ValueGenerated.Never || !WrittenProperties.Contains(p.Name))),
            model.Events);

    /// <summary>The properties whose values the row writers send (the position and transaction id are the database's).</summary>
    private static readonly HashSet<string> WrittenProperties =
    [
        nameof(StoredEvent.StreamType), nameof(StoredEvent.StreamId), nameof(StoredEvent.Sequence), nameof(StoredEvent.EventId),
        nameof(StoredEvent.EventType), nameof(StoredEvent.EventVersion), nameof(StoredEvent.Payload), nameof(StoredEvent.Metadata),
        nameof(StoredEvent.CreatedAt),
    ];

    /// <summary>A save that changes nothing else writes its event rows with one command of its own (the same mapping rule).</summary>
    public bool WritesEventRows(DbContext context, EventStoreModel model)
        => CarriesEventRows(model) && context.GetService<IRelationalConnection>() is RelationalConnection { EnlistedTransaction: null };

    public void WriteEventRows(DbContext context, EventStoreModel model, AppendPlan plan) => NpgsqlEventRowWriter.Write(context, model, plan);

    public Task WriteEventRowsAsync(DbContext context, EventStoreModel model, AppendPlan plan, CancellationToken cancellationToken)
        => NpgsqlEventRowWriter.WriteAsync(context, model, plan, cancellationToken);

    private const string CarriesAnnotation = "EventSourcing:Npgsql:CarriesEventRows";

    private static readonly HashSet<string> KnownProperties =
    [
        nameof(StoredEvent.GlobalPosition), nameof(StoredEvent.StreamType), nameof(StoredEvent.StreamId), nameof(StoredEvent.Sequence),
        nameof(StoredEvent.EventId), nameof(StoredEvent.EventType), nameof(StoredEvent.EventVersion), nameof(StoredEvent.Payload),
        nameof(StoredEvent.Metadata), nameof(StoredEvent.CreatedAt), EventStoreModel.TransactionIdProperty,
    ];

    public bool LocksStreams => true;

    /// <summary>
    /// Takes a transaction-scoped advisory lock per stream (<c>pg_advisory_xact_lock</c> on a hash of its type and id),
    /// in the streams' ordinal order, one statement each (the order of the calls inside one statement is not defined).
    /// </summary>
    public void LockStreams(DbContext context, IReadOnlyList<StreamId> streams)
    {
        foreach (var key in LockKeys(streams))
        {
            context.Database.ExecuteSql($"SELECT pg_advisory_xact_lock(hashtextextended({key}, 0))");
        }
    }

    /// <inheritdoc cref="LockStreams"/>
    public async Task LockStreamsAsync(DbContext context, IReadOnlyList<StreamId> streams, CancellationToken cancellationToken)
    {
        foreach (var key in LockKeys(streams))
        {
            await context.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtextextended({key}, 0))", cancellationToken).ConfigureAwait(false);
        }
    }

    private static IEnumerable<string> LockKeys(IReadOnlyList<StreamId> streams)
        => streams.Select(s => "es:" + s.Type + "/" + s.Id).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);

    public bool IsEventStoreConflict(DbUpdateException exception, EventStoreModel model)
        => exception.InnerException is PostgresException error
           && (error.SqlState == PostgresErrorCodes.UniqueViolation
               && (error.ConstraintName == model.StreamIndexName || error.ConstraintName == model.EventIdIndexName)
               || error.SqlState is NpgsqlEventStoreSchema.StreamGapSqlState or NpgsqlEventStoreSchema.SerializationFailureSqlState
               && error.ConstraintName == NpgsqlEventStoreSchema.GuardName(model.Table));

    public StoreState ReadAfterFailure(DbContext context, EventStoreModel model, IReadOnlyCollection<StreamId> streams, IReadOnlyCollection<Guid> eventIds)
    {
        if (!NeedsFreshConnection(context))
        {
            return new StoreState(StoreProbe.ReadVersions(context, streams), StoreProbe.ReadLocations(context, eventIds));
        }

        using var connection = FreshConnection(context);
        connection.Open();
        var probe = new NpgsqlFailureProbe(context, model, streams, eventIds);
        using var versions = probe.VersionsCommand(connection);
        using var locations = probe.LocationsCommand(connection);
        using (var reader = versions.ExecuteReader())
        {
            while (reader.Read())
            {
                probe.AddVersion(reader);
            }
        }

        using (var reader = locations.ExecuteReader())
        {
            while (reader.Read())
            {
                probe.AddLocation(reader);
            }
        }

        return probe.State;
    }

    public async Task<StoreState> ReadAfterFailureAsync(
        DbContext context, EventStoreModel model, IReadOnlyCollection<StreamId> streams, IReadOnlyCollection<Guid> eventIds, CancellationToken cancellationToken)
    {
        if (!NeedsFreshConnection(context))
        {
            return new StoreState(
                await StoreProbe.ReadVersionsAsync(context, streams, cancellationToken).ConfigureAwait(false),
                await StoreProbe.ReadLocationsAsync(context, eventIds, cancellationToken).ConfigureAwait(false));
        }

        var connection = FreshConnection(context);
        await using var connectionScope = connection.ConfigureAwait(false);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var probe = new NpgsqlFailureProbe(context, model, streams, eventIds);
        var versions = probe.VersionsCommand(connection);
        await using (versions.ConfigureAwait(false))
        {
            var reader = await versions.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    probe.AddVersion(reader);
                }
            }
        }

        var locations = probe.LocationsCommand(connection);
        await using (locations.ConfigureAwait(false))
        {
            var reader = await locations.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    probe.AddLocation(reader);
                }
            }
        }

        return probe.State;
    }

    /// <summary>
    /// The context's own connection cannot answer after a failure when its user transaction is aborted (no savepoint to
    /// roll back to) or reads a snapshot older than the winning commit (REPEATABLE READ, SERIALIZABLE): then read the
    /// last committed state on a separate connection.
    /// </summary>
    private static bool NeedsFreshConnection(DbContext context)
        => context.Database.CurrentTransaction is { } transaction
           && (!context.Database.AutoSavepointsEnabled
               || transaction.GetDbTransaction().IsolationLevel is IsolationLevel.RepeatableRead or IsolationLevel.Serializable or IsolationLevel.Snapshot);

    private static NpgsqlConnection FreshConnection(DbContext context)
    {
        // CloneWith keeps the security information (password) even when the connection string no longer shows it.
        var connection = (NpgsqlConnection)context.Database.GetDbConnection();
        return connection.CloneWith(connection.ConnectionString);
    }

    public Task BeginReadAsync(DbContext context, CancellationToken cancellationToken) => context.Database.OpenConnectionAsync(cancellationToken);

    public Task EndReadAsync(DbContext context) => context.Database.CloseConnectionAsync();

    public async Task ReadAllPageAsync(
        DbContext context, EventStoreModel model, GlobalCheckpoint after, int batchSize, ReadAllPage page, CancellationToken cancellationToken)
    {
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = database.GetDbConnection().CreateCommand();
            await using var commandScope = command.ConfigureAwait(false);
            command.Transaction = database.CurrentTransaction?.GetDbTransaction();
            command.CommandText = context.Model.GetOrAddRuntimeAnnotationValue(ReadAllSqlAnnotation, static c => ReadAllSql(c.Context, c.Model), (Context: context, Model: model));
            command.Parameters.Add(new NpgsqlParameter<ulong>("tx", NpgsqlDbType.Xid8) { TypedValue = after.TransactionId });
            command.Parameters.Add(new NpgsqlParameter<long>("position", after.Position));
            command.Parameters.Add(new NpgsqlParameter<int>("limit", batchSize));

            // Prepared once per physical connection (Npgsql keeps it across pooled opens): no parse and plan per page.
            if (NpgsqlPreparation.ShouldPrepare(context, command.Connection!))
            {
                await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
            }
            var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            var columns = new NpgsqlReadAllColumns(reader);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                columns.Read(reader, page);
            }
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    private const string ReadAllSqlAnnotation = "EventSourcing:Npgsql:ReadAllSql";

    private const string ReplaySqlAnnotation = "EventSourcing:Npgsql:ReplaySql";

    /// <summary>
    /// Reads a replay's rows with one prepared command on the context's connection (and transaction), read
    /// sequentially: no EF materialization per row, no parse and plan per load.
    /// </summary>
    public async Task ReplayAsync(
        DbContext context, EventStoreModel model, StreamId streamId, long fromVersion, long toVersion, Func<ReplayRow, bool> onRow, CancellationToken cancellationToken)
    {
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = (NpgsqlCommand)database.GetDbConnection().CreateCommand();
            await using var commandScope = command.ConfigureAwait(false);
            command.Transaction = (NpgsqlTransaction?)database.CurrentTransaction?.GetDbTransaction();
            command.CommandText = context.Model.GetOrAddRuntimeAnnotationValue(ReplaySqlAnnotation, static c => ReplaySql(c.Context, c.Model), (Context: context, Model: model));
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId.Type });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId.Id });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fromVersion });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = toVersion });
            if (NpgsqlPreparation.ShouldPrepare(context, command.Connection!))
            {
                await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
            }
            var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!onRow(new ReplayRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetInt32(4), reader.GetInt64(5))))
                {
                    break;
                }
            }
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads the snapshot and the events after it in one statement (see <see cref="NpgsqlStreamLoader"/>).</summary>
    public Task LoadAsync(DbContext context, EventStoreModel model, StreamLoad load, CancellationToken cancellationToken)
        => NpgsqlStreamLoader.LoadAsync(this, context, model, load, cancellationToken);

    private static string ReplaySql(DbContext context, EventStoreModel model)
    {
        var helper = context.GetService<ISqlGenerationHelper>();
        var c = model.Columns;
        string Q(string column) => helper.DelimitIdentifier(column);
        return $"""
            SELECT {Q(c.Sequence)}, {Q(c.EventType)}, {Q(c.Payload)}, {Q(c.CreatedAt)}, {Q(c.EventVersion)}, {Q(c.GlobalPosition)}
              FROM {helper.DelimitIdentifier(model.Table, model.Schema)}
             WHERE {Q(c.StreamType)} = $1 AND {Q(c.StreamId)} = $2 AND {Q(c.Sequence)} >= $3 AND {Q(c.Sequence)} <= $4
             ORDER BY {Q(c.Sequence)}
            """;
    }

    /// <summary>Reads a row selected with <see cref="EventRowColumns"/>.</summary>
    internal static EventRow ReadRow(DbDataReader reader)
    {
        var e = new StoredEvent
        {
            GlobalPosition = reader.GetInt64(0),
            StreamType = reader.GetString(1),
            StreamId = reader.GetString(2),
            Sequence = reader.GetInt64(3),
            EventId = reader.GetGuid(4),
            EventType = reader.GetString(5),
            EventVersion = reader.GetInt32(6),
            Payload = reader.GetString(7),
            Metadata = reader.IsDBNull(8) ? null : reader.GetString(8),
            CreatedAt = reader.GetFieldValue<DateTimeOffset>(9),
        };
        return new EventRow(e, reader.GetFieldValue<ulong>(10));
    }

    /// <summary>The select list <see cref="ReadRow"/> reads.</summary>
    internal static string EventRowColumns(ISqlGenerationHelper helper, EventStoreModel model)
    {
        var c = model.Columns;
        string Q(string column) => helper.DelimitIdentifier(column);
        return $"{Q(c.GlobalPosition)}, {Q(c.StreamType)}, {Q(c.StreamId)}, {Q(c.Sequence)}, {Q(c.EventId)}, {Q(c.EventType)}, "
               + $"{Q(c.EventVersion)}, {Q(c.Payload)}, {Q(c.Metadata)}, {Q(c.CreatedAt)}, {Q(NpgsqlEventStoreSchema.TransactionIdColumnOf(model))}";
    }

    private static string ReadAllSql(DbContext context, EventStoreModel model)
    {
        var helper = context.GetService<ISqlGenerationHelper>();
        var c = model.Columns;
        string Q(string column) => helper.DelimitIdentifier(column);
        var tx = Q(NpgsqlEventStoreSchema.TransactionIdColumnOf(model));
        return $"""
            SELECT {EventRowColumns(helper, model)}
              FROM {helper.DelimitIdentifier(model.Table, model.Schema)}
             WHERE {tx} < pg_snapshot_xmin(pg_current_snapshot())
               AND ({tx}, {Q(c.GlobalPosition)}) > (@tx, @position)
             ORDER BY {tx}, {Q(c.GlobalPosition)}
             LIMIT @limit
            """;
    }
}
