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
/// The PostgreSQL outbox backend. A dispatcher leases due rows in a short transaction: it locks candidates with
/// <c>FOR UPDATE SKIP LOCKED</c>, drops (in ordered mode) any that an unleased earlier row of the stream still precedes,
/// sets lease owner, lease expiry, attempt + 1 and the due time should the attempt never be recorded (lease expiry plus
/// backoff), and commits. It publishes with no transaction open, then records each outcome in one statement, only for
/// rows whose lease it still holds. Every time is the database's <c>now()</c>. In ordered mode only stream heads are
/// claimed, found with one index probe per pending stream (a loose index scan over the pending-stream index), so rows
/// queued behind a busy stream's head are never scanned and skipped over and over.
/// </summary>
internal sealed class NpgsqlOutboxBackend : IOutboxBackend
{
    public async Task<DateTimeOffset> GetNowAsync(DbContext context, TimeProvider clock, CancellationToken cancellationToken)
    {
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = new NpgsqlCommand("SELECT now()", (NpgsqlConnection)database.GetDbConnection());
            await using var commandScope = command.ConfigureAwait(false);
            var now = (DateTime)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            return new DateTimeOffset(DateTime.SpecifyKind(now, DateTimeKind.Utc));
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    public async Task<OutboxClaim> ClaimAsync(DbContext context, OutboxSettings settings, TimeProvider clock, string owner, CancellationToken cancellationToken)
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
                var locked = await LockCandidatesAsync(connection, transaction, sql, settings, cancellationToken).ConfigureAwait(false);
                if (locked.Count == 0)
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return OutboxClaim.None(owner);
                }

                var ids = settings.PreserveStreamOrder
                    ? await DropWaitingAsync(connection, transaction, sql, locked, cancellationToken).ConfigureAwait(false)
                    : locked.Select(l => l.Id).ToArray();
                var expired = await DeadLetterExpiredAsync(connection, transaction, sql, settings, ids, cancellationToken).ConfigureAwait(false);
                var (candidates, now, leaseExpiresAt) = await LeaseAsync(connection, transaction, sql, settings, owner, ids, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new OutboxClaim(owner, now, leaseExpiresAt, candidates, expired);
            }
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<OutboxMark>> CompleteAsync(
        DbContext context, OutboxSettings settings, TimeProvider clock, string owner, IReadOnlyList<OutboxOutcome> outcomes, CancellationToken cancellationToken)
    {
        var sql = new Sql(context);
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = new NpgsqlCommand(sql.Complete, (NpgsqlConnection)database.GetDbConnection());
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(new NpgsqlParameter<string>("owner", owner));
            command.Parameters.Add(new NpgsqlParameter<int>("max", settings.MaxAttempts));
            AddBackoff(command, settings);
            command.Parameters.Add(new NpgsqlParameter<long[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = outcomes.Select(o => o.Message.Id).ToArray() });
            command.Parameters.Add(new NpgsqlParameter<int[]>("kinds", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = outcomes.Select(o => (int)o.Kind).ToArray() });
            command.Parameters.Add(new NpgsqlParameter<string?[]>("errors", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = outcomes.Select(o => o.Error).ToArray() });
            var marks = new Dictionary<long, OutboxMark>();
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var id = reader.GetInt64(0);
                    var state = (OutboxRowState)reader.GetInt32(1);
                    marks[id] = new OutboxMark(id, state, state == OutboxRowState.Retrying ? Utc(reader.GetDateTime(2)) : null);
                }
            }

            return outcomes.Select(o => marks.GetValueOrDefault(o.Message.Id) ?? new OutboxMark(o.Message.Id, OutboxRowState.LeaseLost, null)).ToList();
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    public Task<int> RequeueAsync(DbContext context, IQueryable<StoredOutboxMessage> deadLetters, CancellationToken cancellationToken)
        => deadLetters.ExecuteUpdateAsync(
            s => s.SetProperty(o => o.DeadLetteredAt, (DateTimeOffset?)null)
                .SetProperty(o => o.Attempts, 0)
                .SetProperty(o => o.LeaseOwner, (string?)null)
                .SetProperty(o => o.LeaseExpiresAt, (DateTimeOffset?)null),
            cancellationToken);

    public Task<int> PurgeAsync(DbContext context, IQueryable<StoredOutboxMessage> deadLetters, CancellationToken cancellationToken)
        => deadLetters.ExecuteDeleteAsync(cancellationToken);

    public Task<int> DeleteDispatchedAsync(DbContext context, DateTimeOffset olderThan, CancellationToken cancellationToken)
        => context.Set<StoredOutboxMessage>()
            .Where(o => o.DispatchedAt != null && o.DispatchedAt < olderThan)
            .ExecuteDeleteAsync(cancellationToken);

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    private static void AddBackoff(NpgsqlCommand command, OutboxSettings settings)
    {
        command.Parameters.Add(new NpgsqlParameter<double>("initial", settings.InitialBackoff.TotalSeconds));
        command.Parameters.Add(new NpgsqlParameter<double>("maxbackoff", settings.MaxBackoff.TotalSeconds));
    }

    private static async Task<List<(long Id, StreamId Stream, long Version)>> LockCandidatesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Sql sql, OutboxSettings settings, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(settings.PreserveStreamOrder ? sql.LockHeads : sql.LockDue, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<int>("limit", settings.BatchSize));
        var locked = new List<(long, StreamId, long)>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            locked.Add((reader.GetInt64(0), new StreamId(reader.GetString(1), reader.GetString(2)), reader.GetInt64(3)));
        }

        return locked;
    }

    /// <summary>
    /// Ordered mode: drops locked rows that a pending row of their stream which this claim does not hold (leased by
    /// another dispatcher, waiting for its retry, or locked by a concurrent claim) still precedes.
    /// </summary>
    private static async Task<long[]> DropWaitingAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Sql sql, List<(long Id, StreamId Stream, long Version)> locked, CancellationToken cancellationToken)
    {
        var streams = locked.Select(c => c.Stream).Distinct().ToArray();
        var command = new NpgsqlCommand(sql.Blockers, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string[]>("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = streams.Select(s => s.Type).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = streams.Select(s => s.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<long[]>("claimed", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = locked.Select(c => c.Id).ToArray() });
        var blockers = new Dictionary<StreamId, long>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!reader.IsDBNull(2))
                {
                    blockers[new StreamId(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
                }
            }
        }

        return locked.Where(c => !blockers.TryGetValue(c.Stream, out var blocker) || c.Version <= blocker).Select(c => c.Id).ToArray();
    }

    private static async Task<List<OutboxExpiredMessage>> DeadLetterExpiredAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Sql sql, OutboxSettings settings, long[] ids, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql.DeadLetterExpired, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<long[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = ids });
        command.Parameters.Add(new NpgsqlParameter<int>("max", settings.MaxAttempts));
        command.Parameters.Add(new NpgsqlParameter<string>("error", InMemoryOutboxBackend.LeaseExpiredError(settings.MaxAttempts)));
        var expired = new List<OutboxExpiredMessage>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            expired.Add(new OutboxExpiredMessage(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetInt32(3)));
        }

        return expired;
    }

    private static async Task<(List<OutboxCandidate>, DateTimeOffset, DateTimeOffset)> LeaseAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Sql sql, OutboxSettings settings, string owner, long[] ids, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql.Lease, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<long[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = ids });
        command.Parameters.Add(new NpgsqlParameter<int>("max", settings.MaxAttempts));
        command.Parameters.Add(new NpgsqlParameter<string>("owner", owner));
        command.Parameters.Add(new NpgsqlParameter<double>("lease", settings.LeaseDuration.TotalSeconds));
        AddBackoff(command, settings);
        var candidates = new List<OutboxCandidate>();
        DateTimeOffset now = default, expires = default;
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            candidates.Add(ReadCandidate(reader));
            now = Utc(reader.GetDateTime(11));
            expires = Utc(reader.GetDateTime(12));
        }

        // In claim order (ids were locked in that order; RETURNING does not keep it).
        var order = ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
        candidates.Sort((a, b) => order[a.Id].CompareTo(order[b.Id]));
        return (candidates, now, expires);
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

        // Never attempted (a fresh or requeued row) is due at once, whatever clock stamped it; otherwise the database's.
        private string Due(string alias) => $"({alias}.{Q(_c.Attempts)} = 0 OR {alias}.{Q(_c.NextAttemptAt)} <= now())";

        // Exponential from the initial backoff, capped, with "equal jitter" (half fixed, half random), as OutboxSettings.BackoffAfter.
        private string Backoff(string failedAttempts)
            => $"(least(@initial * power(2, least({failedAttempts} - 1, 30)), @maxbackoff) * (0.5 + 0.5 * random())) * interval '1 second'";

        private string Stream(string alias) => $"{alias}.{Q(_c.StreamType)}, {alias}.{Q(_c.StreamId)}";

        /// <summary>
        /// Ordered mode: the heads of the pending streams by a loose index scan (one probe of the pending-stream index per
        /// stream), the due ones oldest first, and the rows of each head's version (one per destination); locked, skipping
        /// rows other claims hold. Only heads: a claim charges an attempt to every row it leases, so a row queued behind
        /// its stream's head is never charged for a crash while the head was being published.
        /// </summary>
        public string LockHeads => $"""
            WITH RECURSIVE heads(t, i, v, id, attempts, due_at) AS (
                (SELECT o.{Q(_c.StreamType)}, o.{Q(_c.StreamId)}, o.{Q(_c.StreamVersion)}, o.{Q(_c.Id)}, o.{Q(_c.Attempts)}, o.{Q(_c.NextAttemptAt)}
                   FROM {_outbox} o WHERE {Pending("o")}
                  ORDER BY o.{Q(_c.StreamType)}, o.{Q(_c.StreamId)}, o.{Q(_c.StreamVersion)} LIMIT 1)
                UNION ALL
                SELECT n.* FROM heads h CROSS JOIN LATERAL (
                    SELECT o.{Q(_c.StreamType)}, o.{Q(_c.StreamId)}, o.{Q(_c.StreamVersion)}, o.{Q(_c.Id)}, o.{Q(_c.Attempts)}, o.{Q(_c.NextAttemptAt)}
                      FROM {_outbox} o
                     WHERE {Pending("o")} AND ({Stream("o")}) > (h.t, h.i)
                     ORDER BY o.{Q(_c.StreamType)}, o.{Q(_c.StreamId)}, o.{Q(_c.StreamVersion)} LIMIT 1) n
            ),
            due_heads AS (
                SELECT h.t, h.i, h.v, h.id FROM heads h WHERE h.attempts = 0 OR h.due_at <= now() ORDER BY h.id LIMIT @limit
            )
            SELECT o.{Q(_c.Id)}, o.{Q(_c.StreamType)}, o.{Q(_c.StreamId)}, o.{Q(_c.StreamVersion)}
              FROM due_heads d JOIN {_outbox} o
                ON o.{Q(_c.StreamType)} = d.t AND o.{Q(_c.StreamId)} = d.i AND o.{Q(_c.StreamVersion)} = d.v
             WHERE {Pending("o")} AND {Due("o")}
             ORDER BY d.id, o.{Q(_c.Id)}
             LIMIT @limit
               FOR UPDATE OF o SKIP LOCKED
            """;

        /// <summary>Unordered mode: due rows in id order, locked, skipping rows other claims hold.</summary>
        public string LockDue => $"""
            SELECT o.{Q(_c.Id)}, o.{Q(_c.StreamType)}, o.{Q(_c.StreamId)}, o.{Q(_c.StreamVersion)}
              FROM {_outbox} o
             WHERE {Pending("o")} AND {Due("o")}
             ORDER BY o.{Q(_c.Id)}
             LIMIT @limit
               FOR UPDATE OF o SKIP LOCKED
            """;

        // One index lookup per stream (a scalar subquery), whatever the statistics say; null when nothing else is pending.
        public string Blockers => $"""
            SELECT s.t, s.i,
                   (SELECT min(o.{Q(_c.StreamVersion)}) FROM {_outbox} o
                     WHERE o.{Q(_c.StreamType)} = s.t AND o.{Q(_c.StreamId)} = s.i AND {Pending("o")}
                       AND NOT (o.{Q(_c.Id)} = ANY (@claimed)))
              FROM unnest(@types, @ids) AS s(t, i)
            """;

        public string DeadLetterExpired => $"""
            UPDATE {_outbox} AS o
               SET {Q(_c.DeadLetteredAt)} = now(),
                   {Q(_c.LastError)} = replace(@error, @max::text, o.{Q(_c.Attempts)}::text),
                   {Q(_c.LeaseOwner)} = NULL,
                   {Q(_c.LeaseExpiresAt)} = NULL
             WHERE o.{Q(_c.Id)} = ANY (@ids) AND o.{Q(_c.Attempts)} >= @max
            RETURNING o.{Q(_c.Id)}, o.{Q(_c.EventId)}, o.{Q(_c.Destination)}, o.{Q(_c.Attempts)}
            """;

        public string Lease => $"""
            UPDATE {_outbox} AS o
               SET {Q(_c.Attempts)} = o.{Q(_c.Attempts)} + 1,
                   {Q(_c.LeaseOwner)} = @owner,
                   {Q(_c.LeaseExpiresAt)} = now() + @lease * interval '1 second',
                   {Q(_c.NextAttemptAt)} = now() + @lease * interval '1 second' + {Backoff($"o.{Q(_c.Attempts)} + 1")}
             WHERE o.{Q(_c.Id)} = ANY (@ids) AND o.{Q(_c.Attempts)} < @max
            RETURNING o.{Q(_c.Id)}, o.{Q(_c.EventId)}, o.{Q(_c.Destination)}, o.{Q(_c.EventType)}, o.{Q(_c.StreamType)}, o.{Q(_c.StreamId)},
                      o.{Q(_c.StreamVersion)}, o.{Q(_c.Payload)}::text, o.{Q(_c.Headers)}::text, o.{Q(_c.Attempts)},
                      (SELECT e.{Q(_e.GlobalPosition)} FROM {_events} e WHERE e.{Q(_e.EventId)} = o.{Q(_c.EventId)}),
                      now(), o.{Q(_c.LeaseExpiresAt)}
            """;

        // Outcome kinds: 0 published, 1 failed, 2 released (given back unattempted). Row states returned: see OutboxRowState.
        public string Complete => $"""
            UPDATE {_outbox} AS o
               SET {Q(_c.Attempts)} = CASE WHEN u.kind = 2 THEN o.{Q(_c.Attempts)} - 1 ELSE o.{Q(_c.Attempts)} END,
                   {Q(_c.DispatchedAt)} = CASE WHEN u.kind = 0 THEN now() END,
                   {Q(_c.DeadLetteredAt)} = CASE WHEN u.kind = 1 AND o.{Q(_c.Attempts)} >= @max THEN now() END,
                   {Q(_c.NextAttemptAt)} = CASE WHEN u.kind = 1 THEN now() + {Backoff($"o.{Q(_c.Attempts)}")}
                                                WHEN u.kind = 2 THEN now()
                                                ELSE o.{Q(_c.NextAttemptAt)} END,
                   {Q(_c.LastError)} = coalesce(u.error, o.{Q(_c.LastError)}),
                   {Q(_c.LeaseOwner)} = NULL,
                   {Q(_c.LeaseExpiresAt)} = NULL
              FROM unnest(@ids, @kinds, @errors) AS u(id, kind, error)
             WHERE o.{Q(_c.Id)} = u.id AND o.{Q(_c.LeaseOwner)} = @owner AND {Pending("o")}
            RETURNING o.{Q(_c.Id)},
                      CASE WHEN o.{Q(_c.DispatchedAt)} IS NOT NULL THEN {(int)OutboxRowState.Dispatched}
                           WHEN o.{Q(_c.DeadLetteredAt)} IS NOT NULL THEN {(int)OutboxRowState.DeadLettered}
                           WHEN u.kind = 2 THEN {(int)OutboxRowState.Released}
                           ELSE {(int)OutboxRowState.Retrying} END,
                      o.{Q(_c.NextAttemptAt)}
            """;
    }
}
