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
            var tx = helper.DelimitIdentifier(NpgsqlEventStoreSchema.TransactionIdColumn);
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
            var tx = helper.DelimitIdentifier(NpgsqlEventStoreSchema.TransactionIdColumn);
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

    /// <summary>The database's next transaction id (no id is assigned by reading it) and the highest one stored with an event.</summary>
    public static string TransactionIds(DbContext context, EventStoreModel model)
        => context.Model.GetOrAddRuntimeAnnotationValue(TransactionIdsAnnotation, static c =>
        {
            var (helper, model) = c;
            var tx = helper.DelimitIdentifier(NpgsqlEventStoreSchema.TransactionIdColumn);
            return $"""
                SELECT pg_snapshot_xmax(pg_current_snapshot()),
                       (SELECT {tx} FROM {helper.DelimitIdentifier(model.Table, model.Schema)} ORDER BY {tx} DESC LIMIT 1)
                """;
        }, (context.GetService<ISqlGenerationHelper>(), model));
}
