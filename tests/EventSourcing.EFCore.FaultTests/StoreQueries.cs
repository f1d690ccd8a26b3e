using Npgsql;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>Plain SQL reads of the fault databases (not through the library).</summary>
public static class StoreQueries
{
    public static async Task<List<Guid>> EventIdsAsync(string connectionString, long? unit = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            unit is null ? "SELECT event_id FROM es_events" : "SELECT event_id FROM es_events WHERE (payload->>'unit')::bigint = @unit", connection);
        if (unit is not null)
        {
            command.Parameters.AddWithValue("unit", unit.Value);
        }

        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    public static async Task<long> ScalarAsync(string connectionString, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Per projection: events it never applied, and applies beyond the first of an event.</summary>
    public static async Task<(long Missed, long AppliedTwice)> ProjectionGapsAsync(string connectionString, string projection)
    {
        var missed = await ScalarAsync(connectionString,
            "SELECT count(*) FROM es_events e WHERE NOT EXISTS (SELECT 1 FROM projected_events p WHERE p.projection = @p AND p.event_id = e.event_id)", ("p", projection));
        var twice = await ScalarAsync(connectionString,
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM projected_events WHERE projection = @p GROUP BY event_id) x", ("p", projection));
        return (missed, twice);
    }

    public static Task<long> UndispatchedAsync(string connectionString)
        => ScalarAsync(connectionString, "SELECT count(*) FROM es_outbox WHERE dispatched_at IS NULL AND dead_lettered_at IS NULL");

    public static Task<long> DeadLettersAsync(string connectionString)
        => ScalarAsync(connectionString, "SELECT count(*) FROM es_outbox WHERE dead_lettered_at IS NOT NULL");
}
