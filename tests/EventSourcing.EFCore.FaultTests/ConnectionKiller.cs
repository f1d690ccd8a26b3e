using Npgsql;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>
/// Terminates one of the library's backends (<c>pg_terminate_backend</c>, chosen at random among the sessions whose
/// <c>application_name</c> is the library's) at random moments, from a connection of its own.
/// </summary>
public sealed class ConnectionKiller(string connectionString, string applicationName, Random random)
{
    /// <summary>Terminates <paramref name="count"/> backends, one every 10–150 ms (waiting for one to exist); returns when each was hit.</summary>
    public async Task<IReadOnlyList<TimeSpan>> RunAsync(int count, System.Diagnostics.Stopwatch clock, CancellationToken cancellationToken)
    {
        var kills = new List<TimeSpan>();
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "es-fault-killer", Pooling = false }.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        while (kills.Count < count)
        {
            await Task.Delay(random.Next(10, 150), cancellationToken);
            await using var command = new NpgsqlCommand(
                """
                SELECT count(*) FROM (
                    SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
                    WHERE application_name = @app AND datname = current_database() AND pid <> pg_backend_pid()
                    ORDER BY random() LIMIT 1) t
                WHERE terminated
                """, connection);
            command.Parameters.AddWithValue("app", applicationName);
            if ((long)(await command.ExecuteScalarAsync(cancellationToken))! > 0)
            {
                kills.Add(clock.Elapsed);
            }
        }

        return kills;
    }
}
