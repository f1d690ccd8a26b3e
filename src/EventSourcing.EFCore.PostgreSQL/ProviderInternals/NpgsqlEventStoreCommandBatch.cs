using System.Data;
using System.Text;
using EventSourcing.EFCore.PostgreSQL.Diagnostics.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Update;
using Microsoft.EntityFrameworkCore;
using Npgsql.EntityFrameworkCore.PostgreSQL.Update.Internal;
using Npgsql;
using NpgsqlTypes;

// The whole file extends NpgsqlModificationCommandBatch, Npgsql's provider API for command batches (an EF internal API).
#pragma warning disable EF1001

namespace EventSourcing.EFCore.PostgreSQL.ProviderInternals;

/// <summary>
/// Npgsql's command batch, except that consecutive inserts of event rows become ONE statement:
/// <c>INSERT INTO es_events (…) SELECT … FROM unnest(@e0::text[], …) WITH ORDINALITY … ORDER BY ordinality RETURNING …, event_id</c>.
/// It runs in EF's own command, connection and transaction; the returned store values (position, transaction id) are
/// mapped back to their entries by event id, not by row order. A failure (unique violation, stream guard) surfaces as a
/// <see cref="DbUpdateException"/> whose inner <see cref="PostgresException"/> carries the SQLSTATE and constraint name,
/// exactly as with one INSERT per row, so the library's conflict classification is unchanged.
/// A single event row, and any command the grouping does not understand, take Npgsql's ordinary path.
/// </summary>
internal sealed class NpgsqlEventStoreCommandBatch(ModificationCommandBatchFactoryDependencies dependencies, int maxBatchSize, EventStoreSession session)
    : NpgsqlModificationCommandBatch(dependencies, maxBatchSize)
{
    private readonly List<Statement> _statements = [];
    private List<IReadOnlyModificationCommand>? _pendingEvents;
    private int _pendingStart;
    private bool _hasEventGroup;

    protected override void AddCommand(IReadOnlyModificationCommand modificationCommand)
    {
        if (session.InProgress is { WritesDirectly: false, CarriedRows: > 0 } save && IsCarrier(modificationCommand, save.Rows[0]))
        {
            FlushEvents();
            AddCarrier(modificationCommand, save.Rows);
            return;
        }

        if (IsGroupableEventInsert(modificationCommand)
            && (_pendingEvents is not { Count: > 0 } pending || SameShape(pending[0], modificationCommand)))
        {
            if (_pendingEvents is not { Count: > 0 })
            {
                _pendingStart = ResultSetMappings.Count;
                (_pendingEvents ??= []).Clear();
            }

            // A placeholder keeps ResultSetMappings aligned with ModificationCommands; the SQL is written when the group ends.
            _pendingEvents!.Add(modificationCommand);
            ResultSetMappings.Add(ResultSetMapping.NoResults);
            return;
        }

        FlushEvents();
        if (IsGroupableEventInsert(modificationCommand))
        {
            // Another shape than the group before it: start a new group.
            AddCommand(modificationCommand);
            return;
        }

        AddSingle(modificationCommand);
    }

    public override void Complete(bool moreBatchesExpected)
    {
        FlushEvents();
        if (_hasEventGroup)
        {
            // One statement is atomic on its own: no BEGIN/COMMIT round trips for a save that only appends events.
            SetRequiresTransaction(_statements.Count > 1);
        }

        if (_statements is [{ IsEventInsert: true }])
        {
            // A save that only appends events sends a fixed text (arrays, whatever the count): let it be prepared.
            SqlBuilder.Insert(0, "-- " + CompiledEventQueries.PreparableTag + "\n");
        }

        base.Complete(moreBatchesExpected);
    }

    protected override void Consume(RelationalDataReader reader)
    {
        if (!_hasEventGroup)
        {
            base.Consume(reader);
            return;
        }

        // With async: false every step runs synchronously (Read, NextResult), so the task is already complete here:
        // this is Npgsql's own Consume pattern, not blocking on asynchronous I/O.
        ConsumeAsync(reader, async: false, CancellationToken.None).GetAwaiter().GetResult();
    }

    protected override Task ConsumeAsync(RelationalDataReader reader, CancellationToken cancellationToken = default)
        => _hasEventGroup ? ConsumeAsync(reader, async: true, cancellationToken) : base.ConsumeAsync(reader, cancellationToken);

    private void AddSingle(IReadOnlyModificationCommand command, bool isEventInsert = false)
    {
        var index = ResultSetMappings.Count;
        base.AddCommand(command);
        _statements.Add(new Statement(index, 1, null, isEventInsert));
    }

    /// <summary>Writes the pending event rows: one row the ordinary way, two or more as one unnest statement.</summary>
    private void FlushEvents()
    {
        if (_pendingEvents is not { Count: > 0 } group)
        {
            return;
        }

        var start = _pendingStart;
        _pendingEvents = null;
        if (group.Count == 1)
        {
            ResultSetMappings.RemoveAt(start);
            AddSingle(group[0], isEventInsert: true);
            return;
        }

        group = InStreamOrder(group);
        var byEventId = new Dictionary<Guid, IReadOnlyModificationCommand>(group.Count);
        var eventIdColumn = Find(group[0], nameof(StoredEvent.EventId));
        foreach (var command in group)
        {
            byEventId[(Guid)command.ColumnModifications[eventIdColumn].Value!] = command;
        }

        AppendUnnestInsert(group[0], start, group.Count, byEventId, group.Count, (column, c) => ArrayParameter(column, group, c));
    }

    /// <summary>
    /// The carrier row of a save whose other event rows are not tracked (see IEventStoreBackend.CarriesEventRows): one
    /// unnest statement writes them all; only the carrier's store values are propagated.
    /// </summary>
    private void AddCarrier(IReadOnlyModificationCommand carrier, IReadOnlyList<StoredEvent> rows)
    {
        if (!IsGroupableEventInsert(carrier))
        {
            throw new InvalidOperationException(NpgsqlMessages.CannotCarryEventRows);
        }

        var ordered = rows
            .OrderBy(r => r.StreamType, StringComparer.Ordinal)
            .ThenBy(r => r.StreamId, StringComparer.Ordinal)
            .ThenBy(r => r.Sequence)
            .ToArray();
        var start = ResultSetMappings.Count;
        ResultSetMappings.Add(ResultSetMapping.NoResults);
        var byEventId = new Dictionary<Guid, IReadOnlyModificationCommand> { [rows[0].EventId] = carrier };
        AppendUnnestInsert(carrier, start, 1, byEventId, ordered.Length, (column, _) => RowsParameter(column, ordered));
    }

    /// <summary>
    /// Writes <c>INSERT INTO t (cols) SELECT … FROM unnest(@arrays) WITH ORDINALITY … ORDER BY ordinality RETURNING
    /// (store-generated cols), event_id</c> with the column layout of <paramref name="template"/>.
    /// </summary>
    private void AppendUnnestInsert(
        IReadOnlyModificationCommand template,
        int start,
        int commandCount,
        Dictionary<Guid, IReadOnlyModificationCommand> byEventId,
        int rowCount,
        Func<IColumnModification, int, NpgsqlParameter> arrayFor)
    {
        var columns = template.ColumnModifications;
        var helper = Dependencies.SqlGenerationHelper;
        var writes = new List<int>();
        var reads = new List<int>();
        for (var c = 0; c < columns.Count; c++)
        {
            if (columns[c].IsWrite)
            {
                writes.Add(c);
            }

            if (columns[c].IsRead)
            {
                reads.Add(c);
            }
        }

        var eventIdColumn = Find(template, nameof(StoredEvent.EventId));
        var sql = SqlBuilder;
        var prefix = "es_" + start.ToString(System.Globalization.CultureInfo.InvariantCulture) + "_";
        sql.Append("INSERT INTO ").Append(helper.DelimitIdentifier(template.TableName, template.Schema)).Append(" (");
        AppendList(sql, writes, i => helper.DelimitIdentifier(columns[i].ColumnName));
        sql.Append(")\nSELECT ");
        AppendList(sql, writes, i => "c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        sql.Append(" FROM unnest(");
        AppendList(sql, writes, i => "@" + prefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        sql.Append(") WITH ORDINALITY AS e(");
        AppendList(sql, writes, i => "c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        sql.Append(", o) ORDER BY o\nRETURNING ");
        AppendList(sql, reads, i => helper.DelimitIdentifier(columns[i].ColumnName));
        if (reads.Count > 0)
        {
            sql.Append(", ");
        }

        sql.Append(helper.DelimitIdentifier(columns[eventIdColumn].ColumnName)).Append(helper.StatementTerminator).AppendLine();

        foreach (var c in writes)
        {
            var name = prefix + c.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var parameter = arrayFor(columns[c], c);
            parameter.ParameterName = name;
            RelationalCommandBuilder.AddRawParameter(name, parameter);
        }

        _statements.Add(new Statement(start, commandCount, new EventGroup(byEventId, reads.Count, rowCount), IsEventInsert: true));
        _hasEventGroup = true;
    }

    private static int Find(IReadOnlyModificationCommand command, string property)
    {
        var columns = command.ColumnModifications;
        for (var c = 0; c < columns.Count; c++)
        {
            if (columns[c].IsWrite && columns[c].Property?.Name == property)
            {
                return c;
            }
        }

        return -1;
    }

    private static bool IsCarrier(IReadOnlyModificationCommand command, StoredEvent carrier)
        => command.EntityState == EntityState.Added
           && command.Entries.Count == 1
           && command.Entries[0].EntityType.ClrType == typeof(StoredEvent)
           && ReferenceEquals(command.Entries[0].ToEntityEntry().Entity, carrier);

    /// <summary>An array of one column's values over untracked event rows.</summary>
    private static NpgsqlParameter RowsParameter(IColumnModification column, StoredEvent[] rows)
    {
        switch (column.Property!.Name)
        {
            case nameof(StoredEvent.StreamType):
                return Strings(column, rows, r => r.StreamType);
            case nameof(StoredEvent.StreamId):
                return Strings(column, rows, r => r.StreamId);
            case nameof(StoredEvent.EventType):
                return Strings(column, rows, r => r.EventType);
            case nameof(StoredEvent.Payload):
                return Strings(column, rows, r => r.Payload);
            case nameof(StoredEvent.Metadata):
                return Strings(column, rows, r => r.Metadata);
            case nameof(StoredEvent.Sequence):
                return new NpgsqlParameter<long[]> { TypedValue = Array.ConvertAll(rows, r => r.Sequence) };
            case nameof(StoredEvent.EventVersion):
                return new NpgsqlParameter<int[]> { TypedValue = Array.ConvertAll(rows, r => r.EventVersion) };
            case nameof(StoredEvent.EventId):
                return new NpgsqlParameter<Guid[]> { TypedValue = Array.ConvertAll(rows, r => r.EventId) };
            case nameof(StoredEvent.CreatedAt):
                return new NpgsqlParameter<DateTimeOffset[]> { TypedValue = Array.ConvertAll(rows, r => r.CreatedAt) };
            default:
                throw new InvalidOperationException(NpgsqlMessages.CannotCarryEventRows);
        }
    }

    private static NpgsqlParameter Strings(IColumnModification column, StoredEvent[] rows, Func<StoredEvent, string?> value)
        => new() { NpgsqlDbType = NpgsqlDbType.Array | (IsJson(column) ? NpgsqlDbType.Jsonb : NpgsqlDbType.Text), Value = Array.ConvertAll(rows, r => value(r)) };

    /// <summary>
    /// Orders the rows by stream and sequence, so that within a stream the identity positions (assigned in ordinality
    /// order) follow the versions whatever order EF gave the commands in.
    /// </summary>
    private static List<IReadOnlyModificationCommand> InStreamOrder(List<IReadOnlyModificationCommand> group)
    {
        var columns = group[0].ColumnModifications;
        int Find(string property)
        {
            for (var c = 0; c < columns.Count; c++)
            {
                if (columns[c].IsWrite && columns[c].Property?.Name == property)
                {
                    return c;
                }
            }

            return -1;
        }

        var type = Find(nameof(StoredEvent.StreamType));
        var id = Find(nameof(StoredEvent.StreamId));
        var sequence = Find(nameof(StoredEvent.Sequence));
        if (type < 0 || id < 0 || sequence < 0)
        {
            return group;
        }

        return group
            .OrderBy(g => (string?)g.ColumnModifications[type].Value, StringComparer.Ordinal)
            .ThenBy(g => (string?)g.ColumnModifications[id].Value, StringComparer.Ordinal)
            .ThenBy(g => (long)g.ColumnModifications[sequence].Value!)
            .ToList();
    }

    private static void AppendList(StringBuilder sql, List<int> items, Func<int, string> text)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                sql.Append(", ");
            }

            sql.Append(text(items[i]));
        }
    }

    private static NpgsqlParameter ArrayParameter(IColumnModification column, List<IReadOnlyModificationCommand> group, int c)
    {
        var type = column.Property!.ClrType;
        if (type == typeof(string))
        {
            var values = new string?[group.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (string?)group[i].ColumnModifications[c].Value;
            }

            var element = IsJson(column) ? NpgsqlDbType.Jsonb : NpgsqlDbType.Text;
            return new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | element, Value = values };
        }

        if (type == typeof(long))
        {
            return new NpgsqlParameter<long[]> { TypedValue = Values<long>(group, c) };
        }

        if (type == typeof(int))
        {
            return new NpgsqlParameter<int[]> { TypedValue = Values<int>(group, c) };
        }

        if (type == typeof(Guid))
        {
            return new NpgsqlParameter<Guid[]> { TypedValue = Values<Guid>(group, c) };
        }

        return new NpgsqlParameter<DateTimeOffset[]> { TypedValue = Values<DateTimeOffset>(group, c) };
    }

    private static T[] Values<T>(List<IReadOnlyModificationCommand> group, int c)
    {
        var values = new T[group.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (T)group[i].ColumnModifications[c].Value!;
        }

        return values;
    }

    private static bool IsJson(IColumnModification column)
        => column.TypeMapping?.StoreType is { } type && (type.Equals("jsonb", StringComparison.OrdinalIgnoreCase) || type.Equals("json", StringComparison.OrdinalIgnoreCase));

    /// <summary>An event row insert whose columns the unnest statement can carry (plain text, jsonb, bigint, integer, uuid, timestamptz).</summary>
    private static bool IsGroupableEventInsert(IReadOnlyModificationCommand command)
    {
        if (command.EntityState != EntityState.Added
            || command.StoreStoredProcedure is not null
            || command.Entries.Count != 1
            || command.Entries[0].EntityType.ClrType != typeof(StoredEvent))
        {
            return false;
        }

        var hasEventId = false;
        foreach (var column in command.ColumnModifications)
        {
            if (column.IsCondition || column.Property is null || column.TypeMapping?.Converter is not null)
            {
                return false;
            }

            if (!column.IsWrite)
            {
                continue;
            }

            var type = column.Property.ClrType;
            if (type != typeof(string) && type != typeof(long) && type != typeof(int) && type != typeof(Guid) && type != typeof(DateTimeOffset))
            {
                return false;
            }

            if (type != typeof(string) && column.Value is null)
            {
                return false;
            }

            hasEventId |= column.Property.Name == nameof(StoredEvent.EventId);
        }

        return hasEventId;
    }

    private static bool SameShape(IReadOnlyModificationCommand a, IReadOnlyModificationCommand b)
    {
        if (a.TableName != b.TableName || a.Schema != b.Schema || a.ColumnModifications.Count != b.ColumnModifications.Count)
        {
            return false;
        }

        for (var i = 0; i < a.ColumnModifications.Count; i++)
        {
            var x = a.ColumnModifications[i];
            var y = b.ColumnModifications[i];
            if (x.ColumnName != y.ColumnName || x.IsWrite != y.IsWrite || x.IsRead != y.IsRead)
            {
                return false;
            }
        }

        return true;
    }

    private async Task ConsumeAsync(RelationalDataReader reader, bool async, CancellationToken cancellationToken)
    {
        var npgsqlReader = (NpgsqlDataReader)reader.DbDataReader;
        var statementIndex = 0;
        try
        {
            for (; statementIndex < _statements.Count; statementIndex++)
            {
                var statement = _statements[statementIndex];
                if (statement.Events is { } events)
                {
                    await ConsumeEventsAsync(reader, statement, events, async, cancellationToken).ConfigureAwait(false);
                    _ = async ? await npgsqlReader.NextResultAsync(cancellationToken).ConfigureAwait(false) : npgsqlReader.NextResult();
                    continue;
                }

                var commandIndex = statement.FirstCommand;
                var command = ModificationCommands[commandIndex];
                if (ResultSetMappings[commandIndex].HasFlag(ResultSetMapping.HasResultRow))
                {
                    if (!(async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read()))
                    {
                        await ThrowConcurrencyAsync(reader, commandIndex, 1, 0, async, cancellationToken).ConfigureAwait(false);
                    }

                    if (command.RowsAffectedColumn is { } rowsAffectedColumn && RowsAffected(reader, command, rowsAffectedColumn) != 1)
                    {
                        await ThrowConcurrencyAsync(reader, commandIndex, 1, 0, async, cancellationToken).ConfigureAwait(false);
                    }

                    command.PropagateResults(reader);
                    _ = async ? await npgsqlReader.NextResultAsync(cancellationToken).ConfigureAwait(false) : npgsqlReader.NextResult();
                }
                else
                {
                    // As in Npgsql: the rows affected of a statement without results travel in the protocol.
#pragma warning disable CS0618 // NpgsqlDataReader.Statements is what Npgsql's own batch uses until EF adopts DbBatch.
                    if (npgsqlReader.Statements[statementIndex].Rows != 1 && command.StoreStoredProcedure is null)
#pragma warning restore CS0618
                    {
                        await ThrowConcurrencyAsync(reader, commandIndex, 1, 0, async, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is not DbUpdateException and not OperationCanceledException)
        {
            var statement = _statements[Math.Min(statementIndex, _statements.Count - 1)];
            var entries = new List<IUpdateEntry>();
            for (var i = statement.FirstCommand; i < statement.FirstCommand + statement.CommandCount; i++)
            {
                entries.AddRange(ModificationCommands[i].Entries);
            }

            throw new DbUpdateException(NpgsqlMessages.EventInsertFailed, ex, entries);
        }
    }

    private async Task ConsumeEventsAsync(RelationalDataReader reader, Statement statement, EventGroup events, bool async, CancellationToken cancellationToken)
    {
        var rows = 0;
        var propagated = 0;
        while (async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read())
        {
            // Rows without a tracked entry are carried rows: nothing to propagate.
            if (events.Commands.TryGetValue(reader.DbDataReader.GetGuid(events.EventIdOrdinal), out var command))
            {
                command.PropagateResults(reader);
                propagated++;
            }

            rows++;
        }

        if (rows != events.Rows || propagated != statement.CommandCount)
        {
            await ThrowConcurrencyAsync(reader, statement.FirstCommand + statement.CommandCount - 1, statement.CommandCount, propagated, async, cancellationToken)
                .ConfigureAwait(false);
        }
    }

    private static int RowsAffected(RelationalDataReader reader, IReadOnlyModificationCommand command, IColumnBase rowsAffectedColumn)
    {
        // Stored procedures only (never event rows): the rows affected come back as an output column, as in Npgsql's batch.
        var readerIndex = -1;
        foreach (var columnModification in command.ColumnModifications)
        {
            if (columnModification.Column is IStoreStoredProcedureParameter { Direction: ParameterDirection.Output or ParameterDirection.InputOutput })
            {
                readerIndex++;
            }

            if (columnModification.Column == rowsAffectedColumn)
            {
                break;
            }
        }

        return reader.DbDataReader.GetInt32(readerIndex);
    }

    private Task ThrowConcurrencyAsync(RelationalDataReader reader, int commandIndex, int expected, int actual, bool async, CancellationToken cancellationToken)
    {
        if (async)
        {
            return ThrowAggregateUpdateConcurrencyExceptionAsync(reader, commandIndex, expected, actual, cancellationToken);
        }

        ThrowAggregateUpdateConcurrencyException(reader, commandIndex, expected, actual);
        return Task.CompletedTask;
    }

    /// <summary>One SQL statement of the batch: one ordinary command, or a group of event rows.</summary>
    private sealed record Statement(int FirstCommand, int CommandCount, EventGroup? Events, bool IsEventInsert);

    /// <summary>
    /// The tracked event rows of one unnest statement by event id, where the event id is in its RETURNING row, and how
    /// many rows the statement writes (more than the tracked ones when rows are carried).
    /// </summary>
    private sealed record EventGroup(Dictionary<Guid, IReadOnlyModificationCommand> Commands, int EventIdOrdinal, int Rows);
}
