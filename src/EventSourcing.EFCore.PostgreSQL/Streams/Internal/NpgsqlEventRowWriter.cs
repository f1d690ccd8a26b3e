using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Streams.Internal;
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

    public static void Write(DbContext context, EventStoreModel model, AppendPlan plan)
    {
        var database = context.Database;
        database.OpenConnection();
        try
        {
            using var command = Command(context, model, plan);
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

    public static async Task WriteAsync(DbContext context, EventStoreModel model, AppendPlan plan, CancellationToken cancellationToken)
    {
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = Command(context, model, plan);
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

    private static NpgsqlCommand Command(DbContext context, EventStoreModel model, AppendPlan plan)
    {
        var database = context.Database;
        var sql = context.Model.GetOrAddRuntimeAnnotationValue(
            SqlAnnotation, static c => new InsertSql(c.Helper, c.Model), (Helper: context.GetService<ISqlGenerationHelper>(), Model: model));
        var count = plan.EventCount;
        var command = new NpgsqlCommand(count == 1 ? sql.Single : sql.Many, (NpgsqlConnection)database.GetDbConnection())
        {
            Transaction = (NpgsqlTransaction?)database.CurrentTransaction?.GetDbTransaction(),
        };
        if (database.GetCommandTimeout() is { } timeout)
        {
            command.CommandTimeout = timeout;
        }

        var parameters = command.Parameters;
        if (count == 1)
        {
            var (batch, version) = plan.Batches[0].Events.Count == 1 ? (0, plan.FirstVersions[0]) : FirstNonEmpty(plan);
            var append = plan.Batches[batch];
            var e = append.Events[0];
            parameters.Add(new NpgsqlParameter<string> { TypedValue = append.StreamId.Type });
            parameters.Add(new NpgsqlParameter<string> { TypedValue = append.StreamId.Id });
            parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
            parameters.Add(new NpgsqlParameter<Guid> { TypedValue = e.EventId });
            parameters.Add(new NpgsqlParameter<string> { TypedValue = e.EventType });
            parameters.Add(new NpgsqlParameter<int> { TypedValue = e.EventTypeVersion });
            parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Payload, NpgsqlDbType = sql.PayloadType });
            parameters.Add(e.Metadata is null
                ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = sql.MetadataType }
                : new NpgsqlParameter<string> { TypedValue = e.Metadata, NpgsqlDbType = sql.MetadataType });
            parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = e.Timestamp });
            return command;
        }

        var order = InStreamOrder(plan);
        var oneStream = OneStream(plan, order);
        if (oneStream is { } only)
        {
            // One stream, versions contiguous: its type, id and first version are sent once, not once per row.
            command.CommandText = sql.OneStream;
            parameters.Add(new NpgsqlParameter<string> { TypedValue = only.StreamId.Type });
            parameters.Add(new NpgsqlParameter<string> { TypedValue = only.StreamId.Id });
            parameters.Add(new NpgsqlParameter<long> { TypedValue = only.FirstVersion });
        }

        var types = oneStream is null ? new string[count] : null;
        var ids = oneStream is null ? new string[count] : null;
        var versions = oneStream is null ? new long[count] : null;
        var eventIds = new Guid[count];
        var eventTypes = new string[count];
        var eventVersions = new int[count];
        var payloads = new string[count];
        var metadata = new string?[count];
        var timestamps = new DateTimeOffset[count];
        var row = 0;
        foreach (var b in order)
        {
            var append = plan.Batches[b];
            var version = plan.FirstVersions[b];
            foreach (var e in append.Events)
            {
                if (oneStream is null)
                {
                    types![row] = append.StreamId.Type;
                    ids![row] = append.StreamId.Id;
                    versions![row] = version++;
                }


                eventIds[row] = e.EventId;
                eventTypes[row] = e.EventType;
                eventVersions[row] = e.EventTypeVersion;
                payloads[row] = e.Payload;
                metadata[row] = e.Metadata;
                timestamps[row] = e.Timestamp;
                row++;
            }
        }

        if (oneStream is null)
        {
            parameters.Add(new NpgsqlParameter<string[]> { TypedValue = types, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            parameters.Add(new NpgsqlParameter<string[]> { TypedValue = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            parameters.Add(new NpgsqlParameter<long[]> { TypedValue = versions });
        }

        parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = eventIds });
        parameters.Add(new NpgsqlParameter<string[]> { TypedValue = eventTypes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<int[]> { TypedValue = eventVersions });
        parameters.Add(new NpgsqlParameter<string[]> { TypedValue = payloads, NpgsqlDbType = NpgsqlDbType.Array | sql.PayloadType });
        parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = metadata, NpgsqlDbType = NpgsqlDbType.Array | sql.MetadataType });
        parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = timestamps });
        return command;
    }

    private static (int Batch, long Version) FirstNonEmpty(AppendPlan plan)
    {
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            if (plan.Batches[i].Events.Count > 0)
            {
                return (i, plan.FirstVersions[i]);
            }
        }

        throw new InvalidOperationException("The save has no events to write.");
    }

    /// <summary>
    /// Returns the one stream of a save whose events (in <paramref name="order"/>) all belong to one stream with
    /// contiguous versions, and its first version; null when the save writes more than one stream or leaves a gap.
    /// </summary>
    private static (StreamId StreamId, long FirstVersion)? OneStream(AppendPlan plan, int[] order)
    {
        (StreamId StreamId, long FirstVersion)? only = null;
        var next = 0L;
        foreach (var b in order)
        {
            var append = plan.Batches[b];
            if (append.Events.Count == 0)
            {
                continue;
            }

            if (only is null)
            {
                only = (append.StreamId, plan.FirstVersions[b]);
            }
            else if (append.StreamId != only.Value.StreamId || plan.FirstVersions[b] != next)
            {
                return null;
            }

            next = plan.FirstVersions[b] + append.Events.Count;
        }

        return only;
    }

    /// <summary>
    /// The batches in stream and version order (batches of one stream are planned with ascending versions), so that
    /// within a stream the identity positions, assigned in ordinality order, follow the versions.
    /// </summary>
    private static int[] InStreamOrder(AppendPlan plan)
    {
        var order = new int[plan.Batches.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        if (order.Length > 1)
        {
            Array.Sort(order, (x, y) =>
            {
                var a = plan.Batches[x].StreamId;
                var b = plan.Batches[y].StreamId;
                var c = string.CompareOrdinal(a.Type, b.Type);
                if (c == 0)
                {
                    c = string.CompareOrdinal(a.Id, b.Id);
                }

                return c != 0 ? c : plan.FirstVersions[x].CompareTo(plan.FirstVersions[y]);
            });
        }

        return order;
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
            var perRow = string.Join(", ", columns.Skip(3).Select((_, i) => "c" + (i + 3).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            var perRowPositional = string.Join(", ", columns.Skip(3).Select((_, i) => "$" + (i + 4).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            OneStream = $"INSERT INTO {table} ({names})\nSELECT $1, $2, $3 + (o - 1), {perRow} FROM unnest({perRowPositional}) WITH ORDINALITY AS e({perRow}, o) ORDER BY o";
            PayloadType = JsonType(model, nameof(StoredEvent.Payload));
            MetadataType = JsonType(model, nameof(StoredEvent.Metadata));
        }

        public string Single { get; }

        public string Many { get; }

        /// <summary>Gets the text for events of one stream with contiguous versions: type, id and first version once.</summary>
        public string OneStream { get; }

        public NpgsqlDbType PayloadType { get; }

        public NpgsqlDbType MetadataType { get; }

        // PostgreSQL type names are case-insensitive (HasColumnType("JSONB") makes a jsonb column).
        private static NpgsqlDbType JsonType(EventStoreModel model, string property)
            => model.Events.FindProperty(property)?.GetColumnType()?.ToLowerInvariant() switch
            {
                "jsonb" => NpgsqlDbType.Jsonb,
                "json" => NpgsqlDbType.Json,
                _ => NpgsqlDbType.Text,
            };
    }
}
