using System.Data.Common;
using EventSourcing.EFCore.OutboxInternal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace EventSourcing.EFCore.PostgreSQL.OutboxInternal;

/// <summary>
/// The PostgreSQL outbox backend. A dispatcher claims committed, due rows with <c>FOR UPDATE SKIP LOCKED</c> in a
/// transaction on the context's connection, publishes them, marks them in one statement and commits: a row is never
/// published by two live dispatchers at once, and a dispatcher that dies before its commit leaves its rows pending (they
/// are published again, never lost). In ordered mode a row is not claimed while an earlier row of its stream waits for
/// a retry, and after the claim the rows of a stream are published only up to the first version that an unclaimed
/// pending row (locked by another dispatcher) still holds back.
/// </summary>
internal sealed class NpgsqlOutboxBackend : IOutboxBackend
{
    public async Task<OutboxBatchResult> DispatchBatchAsync(
        DbContext context, OutboxSettings settings, OutboxPublishing publishing, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var sql = new Sql(context);
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = (NpgsqlConnection)database.GetDbConnection();
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var candidates = await ClaimAsync(connection, transaction, sql, settings, now, cancellationToken).ConfigureAwait(false);
                if (candidates.Count == 0)
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return OutboxBatchResult.Empty;
                }

                var blockers = settings.PreserveStreamOrder
                    ? await ReadBlockersAsync(connection, transaction, sql, candidates, cancellationToken).ConfigureAwait(false)
                    : [];
                var result = await publishing.PublishAsync(candidates, blockers, cancellationToken).ConfigureAwait(false);

                // Record what was published even when the caller is cancelling: it must not be published again.
                await MarkAsync(connection, transaction, sql, result.Outcomes, CancellationToken.None).ConfigureAwait(false);
                await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                return result;
            }
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    public Task<int> RequeueAsync(DbContext context, Guid messageId, DateTimeOffset now, CancellationToken cancellationToken)
        => context.Set<StoredOutboxMessage>()
            .Where(o => o.EventId == messageId && o.DeadLetteredAt != null)
            .ExecuteUpdateAsync(
                s => s.SetProperty(o => o.DeadLetteredAt, (DateTimeOffset?)null).SetProperty(o => o.Attempts, 0).SetProperty(o => o.NextAttemptAt, now),
                cancellationToken);

    public Task<int> DeleteDispatchedAsync(DbContext context, DateTimeOffset olderThan, CancellationToken cancellationToken)
        => context.Set<StoredOutboxMessage>()
            .Where(o => o.DispatchedAt != null && o.DispatchedAt < olderThan)
            .ExecuteDeleteAsync(cancellationToken);

    private static async Task<List<OutboxCandidate>> ClaimAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Sql sql, OutboxSettings settings, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql.Claim(settings.PreserveStreamOrder), connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<DateTime>("now", NpgsqlDbType.TimestampTz) { TypedValue = now.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<int>("limit", settings.BatchSize));
        var candidates = new List<OutboxCandidate>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            candidates.Add(ReadCandidate(reader));
        }

        return candidates;
    }

    private static OutboxCandidate ReadCandidate(DbDataReader reader)
        => new(
            reader.GetInt64(0),
            reader.GetGuid(1),
            reader.GetString(2),
            reader.GetString(3),
            new StreamId(reader.GetString(4), reader.GetString(5)),
            reader.GetInt64(6),
            reader.GetString(7),
            reader.GetString(8),
            reader.GetInt32(9),
            reader.IsDBNull(10) ? null : reader.GetInt64(10));

    private static async Task<Dictionary<StreamId, long>> ReadBlockersAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Sql sql, List<OutboxCandidate> candidates, CancellationToken cancellationToken)
    {
        var streams = candidates.Select(c => c.StreamId).Distinct().ToArray();
        var command = new NpgsqlCommand(sql.Blockers, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string[]>("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = streams.Select(s => s.Type).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = streams.Select(s => s.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<long[]>("claimed", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = candidates.Select(c => c.Id).ToArray() });
        var blockers = new Dictionary<StreamId, long>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!reader.IsDBNull(2))
            {
                blockers[new StreamId(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
            }
        }

        return blockers;
    }

    private static async Task MarkAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Sql sql, IReadOnlyList<OutboxOutcome> outcomes, CancellationToken cancellationToken)
    {
        if (outcomes.Count == 0)
        {
            return;
        }

        var command = new NpgsqlCommand(sql.Mark, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<long[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = outcomes.Select(o => o.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<int[]>("attempts", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = outcomes.Select(o => o.Attempts).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<DateTime[]>("ats", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { TypedValue = outcomes.Select(o => o.At.UtcDateTime).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<DateTime?[]>("nexts", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz)
        {
            TypedValue = outcomes.Select(o => o.NextAttemptAt?.UtcDateTime).ToArray(),
        });
        command.Parameters.Add(new NpgsqlParameter<string?[]>("errors", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = outcomes.Select(o => o.Error).ToArray() });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The dispatcher's SQL, with table and column names from the EF model.</summary>
    private sealed class Sql
    {
        private readonly string _outbox;
        private readonly string _events;
        private readonly OutboxColumns _c;
        private readonly EventColumns _e;
        private readonly ISqlGenerationHelper _helper;

        public Sql(DbContext context)
        {
            _helper = context.GetService<ISqlGenerationHelper>();
            var outbox = OutboxModel.Get(context.Model);
            var events = EventStoreModel.Get(context.Model);
            _outbox = _helper.DelimitIdentifier(outbox.Table, outbox.Schema);
            _events = _helper.DelimitIdentifier(events.Table, events.Schema);
            _c = outbox.Columns;
            _e = events.Columns;
        }

        private string Q(string column) => _helper.DelimitIdentifier(column);

        private string Pending(string alias) => $"{alias}.{Q(_c.DispatchedAt)} IS NULL AND {alias}.{Q(_c.DeadLetteredAt)} IS NULL";

        // The global position comes from a scalar subquery (one unique-index lookup per claimed row), and OFFSET 0 keeps
        // the NOT EXISTS a correlated subplan (an index lookup per candidate on the pending-stream index);
        // as an anti join the planner may scan every pending row per candidate when the table's statistics are stale.
        public string Claim(bool ordered)
        {
            var waitingPredecessor = ordered
                ? $"""
                     AND NOT EXISTS (SELECT 1 FROM {_outbox} p
                                      WHERE p.{Q(_c.StreamType)} = o.{Q(_c.StreamType)} AND p.{Q(_c.StreamId)} = o.{Q(_c.StreamId)}
                                        AND p.{Q(_c.StreamVersion)} < o.{Q(_c.StreamVersion)} AND {Pending("p")}
                                        AND p.{Q(_c.NextAttemptAt)} > @now
                                     OFFSET 0)
                  """
                : "";
            return $"""
                SELECT o.{Q(_c.Id)}, o.{Q(_c.EventId)}, o.{Q(_c.Destination)}, o.{Q(_c.EventType)}, o.{Q(_c.StreamType)}, o.{Q(_c.StreamId)},
                       o.{Q(_c.StreamVersion)}, o.{Q(_c.Payload)}::text, o.{Q(_c.Headers)}::text, o.{Q(_c.Attempts)},
                       (SELECT e.{Q(_e.GlobalPosition)} FROM {_events} e WHERE e.{Q(_e.EventId)} = o.{Q(_c.EventId)})
                  FROM {_outbox} o
                 WHERE {Pending("o")} AND o.{Q(_c.NextAttemptAt)} <= @now
                {waitingPredecessor}
                 ORDER BY o.{Q(_c.Id)}
                 LIMIT @limit
                 FOR UPDATE OF o SKIP LOCKED
                """;
        }

        // One index lookup per stream (a scalar subquery), whatever the statistics say; null when nothing else is pending.
        public string Blockers => $"""
            SELECT s.t, s.i,
                   (SELECT min(o.{Q(_c.StreamVersion)}) FROM {_outbox} o
                     WHERE o.{Q(_c.StreamType)} = s.t AND o.{Q(_c.StreamId)} = s.i AND {Pending("o")}
                       AND NOT (o.{Q(_c.Id)} = ANY (@claimed)))
              FROM unnest(@types, @ids) AS s(t, i)
            """;

        public string Mark => $"""
            UPDATE {_outbox} AS o
               SET {Q(_c.Attempts)} = u.attempts,
                   {Q(_c.DispatchedAt)} = CASE WHEN u.error IS NULL THEN u.at END,
                   {Q(_c.DeadLetteredAt)} = CASE WHEN u.error IS NOT NULL AND u.next IS NULL THEN u.at END,
                   {Q(_c.NextAttemptAt)} = coalesce(u.next, o.{Q(_c.NextAttemptAt)}),
                   {Q(_c.LastError)} = coalesce(u.error, o.{Q(_c.LastError)})
              FROM unnest(@ids, @attempts, @ats, @nexts, @errors) AS u(id, attempts, at, next, error)
             WHERE o.{Q(_c.Id)} = u.id
            """;
    }
}
