using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Storage.Internal;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace EventSourcing.EFCore.PostgreSQL.Streams.Internal;

/// <summary>
/// Writes the event rows of a save that changes nothing else with ONE command on the context's connection and current
/// transaction: <c>INSERT … VALUES ($1 … $9)</c> for one event, <c>INSERT … SELECT … FROM unnest($1 … $9) WITH
/// ORDINALITY … ORDER BY ordinality</c> for more (rows in stream and version order, so identity positions follow the
/// versions). Both texts are fixed per model, positional and prepared once per physical connection where explicit
/// preparation is allowed. The same indexes and stream guard check the rows as on EF's path, and nothing is returned:
/// nothing reads a saved row's position.
/// </summary>
internal static class NpgsqlEventRowWriter
{
    private const string SqlAnnotation = "EventSourcing:Npgsql:EventRowInsertSql";

    public static void Write(DbContext context, EventStoreModel model, IReadOnlyList<StoredEvent> rows)
    {
        var database = context.Database;
        database.OpenConnection();
        try
        {
            using var command = Command(context, model, rows);
            if (NpgsqlPreparation.ShouldPrepare(context, command.Connection!))
            {
                command.Prepare();
            }

            command.ExecuteNonQuery();
        }
        finally
        {
            database.CloseConnection();
        }
    }

    public static async Task WriteAsync(DbContext context, EventStoreModel model, IReadOnlyList<StoredEvent> rows, CancellationToken cancellationToken)
    {
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = Command(context, model, rows);
            await using (command.ConfigureAwait(false))
            {
                if (NpgsqlPreparation.ShouldPrepare(context, command.Connection!))
                {
                    await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
                }

                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    private static NpgsqlCommand Command(DbContext context, EventStoreModel model, IReadOnlyList<StoredEvent> rows)
    {
        var database = context.Database;
        var sql = context.Model.GetOrAddRuntimeAnnotationValue(
            SqlAnnotation, static c => new InsertSql(c.Helper, c.Model), (Helper: context.GetService<ISqlGenerationHelper>(), Model: model));
        var command = new NpgsqlCommand(rows.Count == 1 ? sql.Single : sql.Many, (NpgsqlConnection)database.GetDbConnection())
        {
            Transaction = (NpgsqlTransaction?)database.CurrentTransaction?.GetDbTransaction(),
        };
        if (database.GetCommandTimeout() is { } timeout)
        {
            command.CommandTimeout = timeout;
        }

        var parameters = command.Parameters;
        if (rows.Count == 1)
        {
            var row = rows[0];
            parameters.Add(new NpgsqlParameter<string> { TypedValue = row.StreamType });
            parameters.Add(new NpgsqlParameter<string> { TypedValue = row.StreamId });
            parameters.Add(new NpgsqlParameter<long> { TypedValue = row.Sequence });
            parameters.Add(new NpgsqlParameter<Guid> { TypedValue = row.EventId });
            parameters.Add(new NpgsqlParameter<string> { TypedValue = row.EventType });
            parameters.Add(new NpgsqlParameter<int> { TypedValue = row.EventVersion });
            parameters.Add(new NpgsqlParameter<string> { TypedValue = row.Payload, NpgsqlDbType = sql.PayloadType });
            parameters.Add(row.Metadata is null
                ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = sql.MetadataType }
                : new NpgsqlParameter<string> { TypedValue = row.Metadata, NpgsqlDbType = sql.MetadataType });
            parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = row.CreatedAt });
            return command;
        }

        var ordered = rows.ToArray();
        Array.Sort(ordered, InStreamOrder);
        parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Array.ConvertAll(ordered, r => r.StreamType), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Array.ConvertAll(ordered, r => r.StreamId), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<long[]> { TypedValue = Array.ConvertAll(ordered, r => r.Sequence) });
        parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = Array.ConvertAll(ordered, r => r.EventId) });
        parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Array.ConvertAll(ordered, r => r.EventType), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<int[]> { TypedValue = Array.ConvertAll(ordered, r => r.EventVersion) });
        parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Array.ConvertAll(ordered, r => r.Payload), NpgsqlDbType = NpgsqlDbType.Array | sql.PayloadType });
        parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = Array.ConvertAll(ordered, r => r.Metadata), NpgsqlDbType = NpgsqlDbType.Array | sql.MetadataType });
        parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = Array.ConvertAll(ordered, r => r.CreatedAt) });
        return command;
    }

    private static int InStreamOrder(StoredEvent x, StoredEvent y)
    {
        var order = string.CompareOrdinal(x.StreamType, y.StreamType);
        if (order == 0)
        {
            order = string.CompareOrdinal(x.StreamId, y.StreamId);
        }

        return order != 0 ? order : x.Sequence.CompareTo(y.Sequence);
    }

    /// <summary>The two insert texts of a model, and the parameter types of its JSON columns (jsonb, json or text).</summary>
    private sealed class InsertSql
    {
        public InsertSql(ISqlGenerationHelper helper, EventStoreModel model)
        {
            var c = model.Columns;
            string[] columns = [c.StreamType, c.StreamId, c.Sequence, c.EventId, c.EventType, c.EventVersion, c.Payload, c.Metadata, c.CreatedAt];
            var table = helper.DelimitIdentifier(model.Table, model.Schema);
            var names = string.Join(", ", columns.Select(n => helper.DelimitIdentifier(n)));
            var positional = string.Join(", ", columns.Select((_, i) => "$" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            var aliases = string.Join(", ", columns.Select((_, i) => "c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Single = $"INSERT INTO {table} ({names}) VALUES ({positional})";
            Many = $"INSERT INTO {table} ({names})\nSELECT {aliases} FROM unnest({positional}) WITH ORDINALITY AS e({aliases}, o) ORDER BY o";
            PayloadType = JsonType(model, nameof(StoredEvent.Payload));
            MetadataType = JsonType(model, nameof(StoredEvent.Metadata));
        }

        public string Single { get; }

        public string Many { get; }

        public NpgsqlDbType PayloadType { get; }

        public NpgsqlDbType MetadataType { get; }

        private static NpgsqlDbType JsonType(EventStoreModel model, string property)
            => model.Events.FindProperty(property)?.GetColumnType() switch
            {
                "jsonb" => NpgsqlDbType.Jsonb,
                "json" => NpgsqlDbType.Json,
                _ => NpgsqlDbType.Text,
            };
    }
}
