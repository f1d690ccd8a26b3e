using EventSourcing.EFCore.FaultTests.Worker;
using Npgsql;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>
/// What PostgreSQL holds after a fault, checked with plain SQL (not through the library): per unit of work, events, the
/// user's <c>transfers</c> row and outbox rows are all there or none; stream versions are 1..n; the inline read model and
/// the snapshots agree with the events.
/// </summary>
public sealed class StoreAudit
{
    public long Units { get; private init; }

    public long Lost { get; private init; }

    public long Duplicated { get; private init; }

    public long Torn { get; private init; }

    public IReadOnlyList<string> Problems { get; private init; } = [];

    /// <summary>Audits the store; <paramref name="acknowledged"/> are units whose commit the writer saw succeed.</summary>
    public static async Task<StoreAudit> RunAsync(string connectionString, IReadOnlyCollection<long> acknowledged)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var problems = new List<string>();

        // units: events (2), outbox rows (2: one per event, route PublishAll) and the transfers row, all or nothing
        const string unitsSql = """
            WITH e AS (SELECT (payload->>'unit')::bigint AS unit, count(*) AS n, count(DISTINCT stream_id) AS streams FROM es_events GROUP BY 1),
                 o AS (SELECT (ev.payload->>'unit')::bigint AS unit, count(*) AS n FROM es_outbox ob JOIN es_events ev ON ev.event_id = ob.event_id GROUP BY 1),
                 t AS (SELECT unit FROM transfers),
                 u AS (SELECT unit FROM e UNION SELECT unit FROM o UNION SELECT unit FROM t)
            SELECT u.unit, coalesce(e.n, 0), coalesce(e.streams, 0), coalesce(o.n, 0), t.unit IS NOT NULL
            FROM u LEFT JOIN e ON e.unit = u.unit LEFT JOIN o ON o.unit = u.unit LEFT JOIN t ON t.unit = u.unit
            """;
        long units = 0, torn = 0, duplicated = 0;
        var present = new HashSet<long>();
        await using (var command = new NpgsqlCommand(unitsSql, connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var (unit, events, streams, outbox, transfer) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetBoolean(4));
                units++;
                if (events == 2 && streams == 2 && outbox == 2 && transfer)
                {
                    present.Add(unit);
                }
                else if (events > 2 || outbox > 2)
                {
                    duplicated++;
                    problems.Add($"unit {unit} duplicated: {events} events on {streams} streams, {outbox} outbox rows, transfer row {(transfer ? "present" : "missing")}");
                }
                else
                {
                    torn++;
                    problems.Add($"unit {unit} torn: {events} events on {streams} streams, {outbox} outbox rows, transfer row {(transfer ? "present" : "missing")}");
                }
            }
        }

        var lost = acknowledged.Where(u => !present.Contains(u)).ToList();
        problems.AddRange(lost.Take(20).Select(u => $"unit {u} acknowledged as committed but not (entirely) in the store"));

        // stream versions 1..n
        torn += await CountAsync(connection, problems, "stream versions not 1..n", """
            SELECT stream_type || '/' || stream_id || ': versions ' || min(sequence) || '..' || max(sequence) || ' in ' || count(*) || ' events'
            FROM es_events GROUP BY stream_type, stream_id HAVING min(sequence) <> 1 OR max(sequence) <> count(*)
            """);

        // the inline read model equals the events of each account, at the same version
        torn += await CountAsync(connection, problems, "inline read model differs from the events", """
            WITH e AS (SELECT stream_id, count(*) AS n, max(sequence) AS v, sum((payload->>'amount')::numeric) AS balance
                       FROM es_events WHERE stream_type = 'account' GROUP BY stream_id)
            SELECT coalesce(e.stream_id, a.account) || ': events v' || coalesce(e.v, 0) || ' n' || coalesce(e.n, 0) || ' balance ' || coalesce(e.balance, 0)
                   || ', view v' || coalesce(a.version, 0) || ' n' || coalesce(a.events, 0) || ' balance ' || coalesce(a.balance, 0)
            FROM e FULL JOIN account_views a ON a.account = e.stream_id
            WHERE e.stream_id IS NULL OR a.account IS NULL OR a.version <> e.v OR a.events <> e.n OR a.balance <> e.balance
            """);

        // snapshots: none beyond the events, and the one due at the last multiple of SnapshotEvery is there
        torn += await CountAsync(connection, problems, "snapshot without its events, or missing", $"""
            WITH e AS (SELECT stream_id, max(sequence) AS v FROM es_events WHERE stream_type = 'account' GROUP BY stream_id),
                 s AS (SELECT stream_id, max(version) AS v FROM es_snapshots WHERE stream_type = 'account' GROUP BY stream_id)
            SELECT coalesce(e.stream_id, s.stream_id) || ': events to v' || coalesce(e.v, 0) || ', newest snapshot v' || coalesce(s.v, 0)
            FROM e FULL JOIN s ON s.stream_id = e.stream_id
            WHERE coalesce(s.v, 0) > coalesce(e.v, 0) OR coalesce(s.v, 0) <> (coalesce(e.v, 0) / {FaultStore.SnapshotEvery}) * {FaultStore.SnapshotEvery}
            """);

        return new StoreAudit { Units = units, Lost = lost.Count, Duplicated = duplicated, Torn = torn, Problems = problems };
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, List<string> problems, string what, string sql)
    {
        long count = 0;
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            count++;
            if (count <= 20)
            {
                problems.Add($"{what}: {reader.GetString(0)}");
            }
        }

        return count;
    }
}
