using System.Data.Common;
using EventSourcing.EFCore.OutboxInternal;
using EventSourcing.EFCore.PostgreSQL.Streams.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace EventSourcing.EFCore.PostgreSQL.OutboxInternal;

/// <summary>
/// The PostgreSQL outbox backend. A dispatcher leases due rows in one statement (its own transaction): it locks
/// candidates with <c>FOR UPDATE SKIP LOCKED</c>, sets lease owner, lease expiry, attempt + 1 and the due time should the
/// attempt never be recorded (lease expiry plus backoff), and commits. It publishes with no transaction open, then records each outcome in one statement, only for
/// rows whose lease it still holds. Every time is the database's <c>now()</c>. In ordered mode only stream heads are
/// claimed, found with one index probe per pending stream (a loose index scan over the pending-stream index), so rows
/// queued behind a busy stream's head are never scanned and skipped over and over. The scan starts after the last stream
/// the previous claim leased (a cursor shared by this process's dispatchers, per outbox table) and stops as soon as it has
/// found a batch of due heads, wrapping round to the first stream: a claim probes about as many streams as it leases
/// rows, not every pending stream, and every stream is reached within one round of the stream keys.
/// </summary>
internal sealed class NpgsqlOutboxBackend : IOutboxBackend
{
    private const string SqlAnnotation = "EventSourcing:NpgsqlOutboxSql";

    private readonly StreamCursors _cursors = new();

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
        var sql = SqlOf(context);
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // One statement, committed on its own: the claim's transaction id lives only while the statement runs, never
            // across a round trip to this process (which may pause, or be killed, at any point).
            var command = new NpgsqlCommand(sql.Claim(settings.PreserveStreamOrder), (NpgsqlConnection)database.GetDbConnection());
            await using var commandScope = command.ConfigureAwait(false);
            if (settings.PreserveStreamOrder)
            {
                var after = _cursors.Get(sql.Table);
                command.Parameters.Add(new NpgsqlParameter<string>("after_type", after.Type));
                command.Parameters.Add(new NpgsqlParameter<string>("after_id", after.Id));
            }

            command.Parameters.Add(new NpgsqlParameter<int>("limit", settings.BatchSize));
            command.Parameters.Add(new NpgsqlParameter<int>("max", settings.MaxAttempts));
            command.Parameters.Add(new NpgsqlParameter<string>("owner", owner));
            command.Parameters.Add(new NpgsqlParameter<double>("lease", settings.LeaseDuration.TotalSeconds));
            command.Parameters.Add(new NpgsqlParameter<string>("error", InMemoryOutboxBackend.LeaseExpiredError(settings.MaxAttempts)));
            AddBackoff(command, settings);
            await PrepareAsync(context, command, cancellationToken).ConfigureAwait(false);
            var candidates = new List<OutboxCandidate>(settings.BatchSize);
            var expired = new List<OutboxExpiredMessage>();
            DateTimeOffset now = default, leaseExpiresAt = default;
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (candidates.Count == 0 && expired.Count == 0 && !reader.IsDBNull(14))
                    {
                        _cursors.Set(sql.Table, new StreamKey(reader.GetString(14), reader.GetString(15)));
                    }

                    var candidate = ReadCandidate(reader);
                    now = Utc(reader.GetDateTime(12));
                    if (reader.GetBoolean(11))
                    {
                        candidates.Add(candidate);
                        leaseExpiresAt = Utc(reader.GetDateTime(13));
                    }
                    else
                    {
                        expired.Add(new OutboxExpiredMessage(candidate.Id, candidate.EventId, candidate.Destination, reader.GetInt32(9)));
                    }
                }
            }

            return candidates.Count == 0 && expired.Count == 0 ? OutboxClaim.None(owner) : new OutboxClaim(owner, now, leaseExpiresAt, candidates, expired);
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<OutboxMark>> CompleteAsync(
        DbContext context, OutboxSettings settings, TimeProvider clock, string owner, IReadOnlyList<OutboxOutcome> outcomes, CancellationToken cancellationToken)
    {
        var sql = SqlOf(context);
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The usual batch, every row published, is marked by the short statement (ids and owner only); a batch with a
            // failed or released row records each outcome with the full one.
            var ids = new long[outcomes.Count];
            var charged = new bool[outcomes.Count];
            var allPublished = true;
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = outcomes[i].Message.Id;
                charged[i] = outcomes[i].Message.Charged;
                allPublished &= outcomes[i].Kind == OutboxOutcomeKind.Published;
            }

            var command = new NpgsqlCommand(allPublished ? sql.MarkDispatched : sql.Complete, (NpgsqlConnection)database.GetDbConnection());
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(new NpgsqlParameter<string>("owner", owner));
            command.Parameters.Add(new NpgsqlParameter<long[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = ids });
            command.Parameters.Add(new NpgsqlParameter<bool[]>("charged", NpgsqlDbType.Array | NpgsqlDbType.Boolean) { TypedValue = charged });
            if (!allPublished)
            {
                command.Parameters.Add(new NpgsqlParameter<int>("max", settings.MaxAttempts));
                AddBackoff(command, settings);
                command.Parameters.Add(new NpgsqlParameter<int[]>("kinds", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = outcomes.Select(o => (int)o.Kind).ToArray() });
                command.Parameters.Add(new NpgsqlParameter<string?[]>("errors", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = outcomes.Select(o => o.Error).ToArray() });
            }

            await PrepareAsync(context, command, cancellationToken).ConfigureAwait(false);
            var marks = new Dictionary<long, OutboxMark>(outcomes.Count);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var id = reader.GetInt64(0);
                    var state = allPublished ? OutboxRowState.Dispatched : (OutboxRowState)reader.GetInt32(1);
                    marks[id] = new OutboxMark(id, state, state == OutboxRowState.Retrying ? Utc(reader.GetDateTime(2)) : null);
                }
            }

            // One mark per outcome, in the same order; a row not updated is no longer this dispatcher's.
            var result = new OutboxMark[outcomes.Count];
            for (var i = 0; i < result.Length; i++)
            {
                result[i] = marks.TryGetValue(ids[i], out var mark) ? mark : new OutboxMark(ids[i], OutboxRowState.LeaseLost, null);
            }

            return result;
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

    /// <summary>The dispatcher's SQL of the context's model, built once per model.</summary>
    private static Sql SqlOf(DbContext context) => context.Model.GetOrAddRuntimeAnnotationValue(SqlAnnotation, static c => new Sql(c!), context);

    /// <summary>Prepares a fixed-text command once per physical connection (Npgsql keeps it across pooled opens): no parse and plan per batch.</summary>
    private static async Task PrepareAsync(DbContext context, NpgsqlCommand command, CancellationToken cancellationToken)
    {
        if (NpgsqlPreparation.ShouldPrepare(context, command.Connection!))
        {
            await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    private static void AddBackoff(NpgsqlCommand command, OutboxSettings settings)
    {
        command.Parameters.Add(new NpgsqlParameter<double>("initial", settings.InitialBackoff.TotalSeconds));
        command.Parameters.Add(new NpgsqlParameter<double>("maxbackoff", settings.MaxBackoff.TotalSeconds));
    }

    private static OutboxCandidate ReadCandidate(DbDataReader reader)
    {
        // An uncharged row (behind its stream's head in a run) is counted when its outcome is recorded: this is attempt + 1.
        var charged = reader.GetBoolean(16);
        return new(
            reader.GetInt64(0),
            reader.GetGuid(1),
            reader.GetString(2),
            reader.GetString(3),
            new StreamId(reader.GetString(4), reader.GetString(5)),
            reader.GetInt64(6),
            reader.GetString(7),
            reader.GetString(8),
            charged ? reader.GetInt32(9) : reader.GetInt32(9) + 1,
            reader.IsDBNull(10) ? null : reader.GetInt64(10),
            charged);
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
            Table = _outbox;
            _events = _helper.DelimitIdentifier(events.Table, events.Schema);
            _c = outbox.Columns;
            _e = events.Columns;
            OrderedClaim = BuildClaim(ordered: true);
            UnorderedClaim = BuildClaim(ordered: false);
            Complete = BuildComplete();
            MarkDispatched = BuildMarkDispatched();
        }

        /// <summary>Gets the outbox table's delimited name (the key of the stream cursor).</summary>
        public string Table { get; }

        private string Q(string column) => _helper.DelimitIdentifier(column);

        private string Pending(string alias) => $"{alias}.{Q(_c.DispatchedAt)} IS NULL AND {alias}.{Q(_c.DeadLetteredAt)} IS NULL";

        // Never attempted and not leased (a fresh, requeued or given-back row) is due at once, whatever clock stamped it;
        // otherwise at its due time on the database's clock (a leased row: not before its lease expires).
        private string Due(string alias)
            => $"(({alias}.{Q(_c.Attempts)} = 0 AND {alias}.{Q(_c.LeaseOwner)} IS NULL) OR {alias}.{Q(_c.NextAttemptAt)} <= now())";

        // Exponential from the initial backoff, capped, with "equal jitter" (half fixed, half random), as OutboxSettings.BackoffAfter.
        private string Backoff(string failedAttempts)
            => $"(least(@initial * power(2, least({failedAttempts} - 1, 30)), @maxbackoff) * (0.5 + 0.5 * random())) * interval '1 second'";

        private string Stream(string alias) => $"{alias}.{Q(_c.StreamType)}, {alias}.{Q(_c.StreamId)}";

        /// <summary>
        /// The claim, as one statement: lock the candidates (skipping rows other claims hold), dead-letter those whose last
        /// attempt's lease expired unrecorded, lease the others (owner, expiry; a charged row also gets attempt + 1 and the due
        /// time should the attempt never be recorded: lease expiry plus backoff; an uncharged one is due again at lease
        /// expiry). Returns both, flagged, with whether the attempt was charged and the database's now().
        /// </summary>
        public string Claim(bool ordered) => ordered ? OrderedClaim : UnorderedClaim;

        private string OrderedClaim { get; }

        private string UnorderedClaim { get; }

        /// <summary>Gets the recording of outcomes, as one statement.</summary>
        public string Complete { get; }

        /// <summary>Gets the recording of a batch whose rows were all published, as one statement.</summary>
        public string MarkDispatched { get; }

        private string BuildClaim(bool ordered)
        {
            var attempts = $"o.{Q(_c.Attempts)}";
            var lease = "now() + @lease * interval '1 second'";
            return $"""
                WITH RECURSIVE {(ordered ? LockRuns : LockDue)},
                claimed AS (
                    UPDATE {_outbox} AS o
                       SET {Q(_c.Attempts)} = CASE WHEN {attempts} < @max AND l.charged THEN {attempts} + 1 ELSE {attempts} END,
                           {Q(_c.DeadLetteredAt)} = CASE WHEN {attempts} >= @max THEN now() END,
                           {Q(_c.LastError)} = CASE WHEN {attempts} >= @max THEN replace(@error, @max::text, {attempts}::text) ELSE o.{Q(_c.LastError)} END,
                           {Q(_c.LeaseOwner)} = CASE WHEN {attempts} >= @max THEN NULL ELSE @owner END,
                           {Q(_c.LeaseExpiresAt)} = CASE WHEN {attempts} >= @max THEN NULL ELSE {lease} END,
                           {Q(_c.NextAttemptAt)} = CASE WHEN {attempts} >= @max THEN o.{Q(_c.NextAttemptAt)}
                                                        WHEN l.charged THEN {lease} + {Backoff($"{attempts} + 1")}
                                                        ELSE {lease} END
                      FROM locked l
                     WHERE o.{Q(_c.Id)} = l.id
                    RETURNING o.*, l.charged
                )
                SELECT c.{Q(_c.Id)}, c.{Q(_c.EventId)}, c.{Q(_c.Destination)}, c.{Q(_c.EventType)}, c.{Q(_c.StreamType)}, c.{Q(_c.StreamId)},
                       c.{Q(_c.StreamVersion)}, c.{Q(_c.Payload)}::text, c.{Q(_c.Headers)}::text, c.{Q(_c.Attempts)},
                       (SELECT e.{Q(_e.GlobalPosition)} FROM {_events} e WHERE e.{Q(_e.EventId)} = c.{Q(_c.EventId)}),
                       c.{Q(_c.DeadLetteredAt)} IS NULL, now(), c.{Q(_c.LeaseExpiresAt)}, {(ordered ? "resume.t, resume.i" : "NULL::text, NULL::text")}, c.charged
                  FROM claimed c{(ordered ? " LEFT JOIN resume ON true" : "")}
                 ORDER BY c.{Q(_c.Id)}
                """;
        }

        /// <summary>
        /// Ordered mode: the heads of the pending streams by a loose index scan (one probe of the pending-stream index per
        /// stream), from the stream after the cursor (<c>@after_type</c>, <c>@after_id</c>) to the last, then from the first
        /// up to the cursor; for each due head in turn, its stream's run: the stream's pending rows in version order from the
        /// head on (one range of the same index), until <c>@limit</c> rows in all (PostgreSQL evaluates the recursion only as
        /// far as the limit pulls it, so a claim of long streams probes a stream or two). A head still leased (its lease
        /// expired unrecorded: the dispatcher crashed or hung) brings only the rows of its version, so after a crash a stream
        /// goes one version per claim until the rows that crashed run leased are behind it. The candidates are locked (due
        /// ones only, skipping rows other claims hold) and a row is taken only when every pending row of a lower version of
        /// its stream was locked by this claim too: a stream's run stops at its first row that is not due or is held
        /// elsewhere, so no row is leased while an earlier row of its stream is pending outside this claim. Only the rows of
        /// the head's version are charged an attempt at claim; the rest of the run is charged when its outcome is recorded
        /// (a crash is then counted once, on the head, and rows the crashed run never reached are not charged).
        /// <c>resume</c> is the stream to resume after: the last stream of the candidates in scan order.
        /// </summary>
        private string LockRuns => $"""
            {Heads("heads", $"({Stream("o")}) > (@after_type, @after_id)", "")},
            {Heads("wrapped", $"({Stream("o")}) <= (@after_type, @after_id)", $"AND ({Stream("o")}) <= (@after_type, @after_id)")},
            due_heads AS (
                SELECT h.* FROM (SELECT 0 AS round, * FROM heads UNION ALL SELECT 1, * FROM wrapped) h
                 WHERE (h.attempts = 0 AND h.owner IS NULL) OR h.due_at <= now()
            ),
            candidates AS (
                SELECT d.round, d.t, d.i, r.id, r.v, r.v = d.v AS charged
                  FROM due_heads d CROSS JOIN LATERAL (
                    SELECT o.{Q(_c.Id)} AS id, o.{Q(_c.StreamVersion)} AS v
                      FROM {_outbox} o
                     WHERE {Pending("o")} AND o.{Q(_c.StreamType)} = d.t AND o.{Q(_c.StreamId)} = d.i
                       AND (d.owner IS NULL OR o.{Q(_c.StreamVersion)} = d.v)
                     ORDER BY o.{Q(_c.StreamVersion)}, o.{Q(_c.Id)}
                     LIMIT @limit) r
                 LIMIT @limit
            ),
            resume AS (SELECT c.t, c.i FROM candidates c ORDER BY c.round DESC, c.t DESC, c.i DESC LIMIT 1),
            lockable AS (
            SELECT o.{Q(_c.Id)} AS id
              FROM candidates c JOIN {_outbox} o ON o.{Q(_c.Id)} = c.id
             WHERE {Pending("o")} AND {Due("o")}
               FOR UPDATE OF o SKIP LOCKED),
            locked AS (
            SELECT r.id, r.charged FROM (
                SELECT c.id, c.charged, k.id IS NOT NULL AS ok,
                       bool_and(k.id IS NOT NULL) OVER (PARTITION BY c.t, c.i ORDER BY c.v RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier_ok
                  FROM candidates c LEFT JOIN lockable k ON k.id = c.id) r
             WHERE r.ok AND r.earlier_ok IS NOT FALSE)
            """;

        /// <summary>A loose index scan over the pending streams whose key satisfies <paramref name="first"/> (and <paramref name="next"/> after the first).</summary>
        private string Heads(string name, string first, string next) => $"""
            {name}(t, i, v, id, attempts, due_at, owner) AS (
                (SELECT o.{Q(_c.StreamType)}, o.{Q(_c.StreamId)}, o.{Q(_c.StreamVersion)}, o.{Q(_c.Id)}, o.{Q(_c.Attempts)}, o.{Q(_c.NextAttemptAt)}, o.{Q(_c.LeaseOwner)}
                   FROM {_outbox} o WHERE {Pending("o")} AND {first}
                  ORDER BY o.{Q(_c.StreamType)}, o.{Q(_c.StreamId)}, o.{Q(_c.StreamVersion)} LIMIT 1)
                UNION ALL
                SELECT n.* FROM {name} h CROSS JOIN LATERAL (
                    SELECT o.{Q(_c.StreamType)}, o.{Q(_c.StreamId)}, o.{Q(_c.StreamVersion)}, o.{Q(_c.Id)}, o.{Q(_c.Attempts)}, o.{Q(_c.NextAttemptAt)}, o.{Q(_c.LeaseOwner)}
                      FROM {_outbox} o
                     WHERE {Pending("o")} AND ({Stream("o")}) > (h.t, h.i) {next}
                     ORDER BY o.{Q(_c.StreamType)}, o.{Q(_c.StreamId)}, o.{Q(_c.StreamVersion)} LIMIT 1) n
            )
            """;

        /// <summary>Unordered mode: due rows in id order.</summary>
        private string LockDue => $"""
            locked AS (
            SELECT o.{Q(_c.Id)} AS id, true AS charged
              FROM {_outbox} o
             WHERE {Pending("o")} AND {Due("o")}
             ORDER BY o.{Q(_c.Id)}
             LIMIT @limit
               FOR UPDATE OF o SKIP LOCKED)
            """;

        // Every row published: mark the rows still leased to this claim dispatched, count the attempts the claim did not, and
        // end their lease.
        private string BuildMarkDispatched() => $"""
            UPDATE {_outbox} AS o
               SET {Q(_c.Attempts)} = CASE WHEN u.charged THEN o.{Q(_c.Attempts)} ELSE o.{Q(_c.Attempts)} + 1 END,
                   {Q(_c.DispatchedAt)} = now(),
                   {Q(_c.LeaseOwner)} = NULL,
                   {Q(_c.LeaseExpiresAt)} = NULL
              FROM unnest(@ids, @charged) AS u(id, charged)
             WHERE o.{Q(_c.Id)} = u.id AND o.{Q(_c.LeaseOwner)} = @owner AND {Pending("o")}
            RETURNING o.{Q(_c.Id)}
            """;

        // Outcome kinds: 0 published, 1 failed, 2 released (given back unattempted). A charged row's attempt was counted at
        // claim (a release gives it back); an uncharged one's is counted here (a release leaves it as it was). Row states
        // returned: see OutboxRowState.
        private string BuildComplete()
        {
            var attempt = $"(o.{Q(_c.Attempts)} + CASE WHEN u.charged THEN 0 ELSE 1 END)";
            return $"""
            UPDATE {_outbox} AS o
               SET {Q(_c.Attempts)} = CASE WHEN u.kind = 2 THEN o.{Q(_c.Attempts)} - CASE WHEN u.charged THEN 1 ELSE 0 END ELSE {attempt} END,
                   {Q(_c.DispatchedAt)} = CASE WHEN u.kind = 0 THEN now() END,
                   {Q(_c.DeadLetteredAt)} = CASE WHEN u.kind = 1 AND {attempt} >= @max THEN now() END,
                   {Q(_c.NextAttemptAt)} = CASE WHEN u.kind = 1 THEN now() + {Backoff(attempt)}
                                                WHEN u.kind = 2 THEN now()
                                                ELSE o.{Q(_c.NextAttemptAt)} END,
                   {Q(_c.LastError)} = coalesce(u.error, o.{Q(_c.LastError)}),
                   {Q(_c.LeaseOwner)} = NULL,
                   {Q(_c.LeaseExpiresAt)} = NULL
              FROM unnest(@ids, @kinds, @errors, @charged) AS u(id, kind, error, charged)
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
}
