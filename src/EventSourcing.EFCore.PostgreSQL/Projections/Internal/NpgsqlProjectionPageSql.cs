using EventSourcing.EFCore.PostgreSQL.Storage.Internal;
using EventSourcing.EFCore.PostgreSQL.Streams.Internal;
using EventSourcing.EFCore.Storage.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.PostgreSQL.Projections.Internal;

/// <summary>
/// The two statements of a projection page. The end comes first: the last committed event below the read-all horizon
/// (<c>pg_snapshot_xmin</c>). Every row at or before it has a transaction id below that horizon, so the set of such rows
/// can no longer change, and the page (rows of the handled type names up to the end) is read in a second statement
/// without missing one.
/// </summary>
internal static class NpgsqlProjectionPageSql
{
    private const string EndAnnotation = "EventSourcing:Npgsql:ProjectionEndSql";
    private const string PageAnnotation = "EventSourcing:Npgsql:ProjectionPageSql";

    public static string End(DbContext context, EventStoreModel model)
        => context.Model.GetOrAddRuntimeAnnotationValue(EndAnnotation, static c =>
        {
            var (helper, model) = c;
            var tx = helper.DelimitIdentifier(NpgsqlEventStoreSchema.TransactionIdColumnOf(model));
            var position = helper.DelimitIdentifier(model.Columns.GlobalPosition);
            return $"""
                SELECT {tx}, {position}
                  FROM {helper.DelimitIdentifier(model.Table, model.Schema)}
                 WHERE {tx} < pg_snapshot_xmin(pg_current_snapshot())
                   AND ({tx}, {position}) > (@tx, @position)
                 ORDER BY {tx} DESC, {position} DESC
                 LIMIT 1
                """;
        }, (context.GetService<ISqlGenerationHelper>(), model));

    public static string Page(DbContext context, EventStoreModel model)
        => context.Model.GetOrAddRuntimeAnnotationValue(PageAnnotation, static c =>
        {
            var (helper, model) = c;
            var tx = helper.DelimitIdentifier(NpgsqlEventStoreSchema.TransactionIdColumnOf(model));
            var position = helper.DelimitIdentifier(model.Columns.GlobalPosition);
            return $"""
                SELECT {NpgsqlEventStoreBackend.EventRowColumns(helper, model)}
                  FROM {helper.DelimitIdentifier(model.Table, model.Schema)}
                 WHERE ({tx}, {position}) > (@tx, @position)
                   AND ({tx}, {position}) <= (@end_tx, @end_position)
                   AND {helper.DelimitIdentifier(model.Columns.EventType)} = ANY(@types)
                 ORDER BY {tx}, {position}
                 LIMIT @limit
                """;
        }, (context.GetService<ISqlGenerationHelper>(), model));

    private const string TransactionIdsAnnotation = "EventSourcing:Npgsql:TransactionIdsSql";

    /// <summary>
    /// The database's next transaction id (no id is assigned by reading it), the highest one stored with an event, and
    /// the cluster's system identifier.
    /// </summary>
    public static string TransactionIds(DbContext context, EventStoreModel model)
        => context.Model.GetOrAddRuntimeAnnotationValue(TransactionIdsAnnotation, static c =>
        {
            var (helper, model) = c;
            var tx = helper.DelimitIdentifier(NpgsqlEventStoreSchema.TransactionIdColumnOf(model));
            return $"""
                SELECT pg_snapshot_xmax(pg_current_snapshot()),
                       (SELECT {tx} FROM {helper.DelimitIdentifier(model.Table, model.Schema)} ORDER BY {tx} DESC LIMIT 1),
                       (SELECT system_identifier FROM pg_control_system())
                """;
        }, (context.GetService<ISqlGenerationHelper>(), model));

    private const string HolderAnnotation = "EventSourcing:Npgsql:HorizonHolderSql";

    /// <summary>
    /// The session (or prepared transaction) whose transaction is the read-all horizon, when committed events after the
    /// checkpoint wait behind it. xid8 horizon, 32-bit xid columns: compared modulo 2^32.
    /// </summary>
    public static string HorizonHolder(DbContext context, EventStoreModel model)
        => context.Model.GetOrAddRuntimeAnnotationValue(HolderAnnotation, static c =>
        {
            var (helper, model) = c;
            var tx = helper.DelimitIdentifier(NpgsqlEventStoreSchema.TransactionIdColumnOf(model));
            var position = helper.DelimitIdentifier(model.Columns.GlobalPosition);
            return $"""
                WITH horizon AS (
                    SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin,
                           pg_snapshot_xmin(pg_current_snapshot())::text::bigint % 4294967296 AS xid
                ), waiting AS (
                    SELECT horizon.* FROM horizon
                     WHERE EXISTS (SELECT 1 FROM {helper.DelimitIdentifier(model.Table, model.Schema)}
                                    WHERE {tx} >= horizon.xmin AND ({tx}, {position}) > (@tx, @position))
                )
                SELECT w.xmin, a.pid, a.datname::text, a.application_name, a.state, EXTRACT(EPOCH FROM clock_timestamp() - a.xact_start)::float8
                  FROM waiting w JOIN pg_stat_activity a ON a.backend_xid::text::bigint = w.xid
                UNION ALL
                SELECT w.xmin, NULL, p.database::text, p.gid, 'prepared', EXTRACT(EPOCH FROM clock_timestamp() - p.prepared)::float8
                  FROM waiting w JOIN pg_prepared_xacts p ON p.transaction::text::bigint = w.xid
                LIMIT 1
                """;
        }, (context.GetService<ISqlGenerationHelper>(), model));
}
