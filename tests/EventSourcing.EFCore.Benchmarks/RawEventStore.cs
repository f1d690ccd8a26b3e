using System.Data;
using Npgsql;
using NpgsqlTypes;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>
/// The raw Npgsql ceiling on the same table: prepared commands, one statement per append (a VALUES row for one event,
/// <c>unnest</c> arrays for many), binary COPY for imports, keyset paging for reads.
/// </summary>
public static class RawEventStore
{
    private const string Columns = "stream_type, stream_id, sequence, event_id, event_type, event_version, payload, metadata, created_at";

    private const string InsertOne = $"INSERT INTO es_events ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, NULL, $8)";

    private const string InsertMany =
        $"INSERT INTO es_events ({Columns}) SELECT $1, $2, s, i, t, 1, p::jsonb, NULL, $7 FROM unnest($3::bigint[], $4::uuid[], $5::text[], $6::text[]) AS u(s, i, t, p)";

    private const string Version = "SELECT max(sequence) FROM es_events WHERE stream_type = $1 AND stream_id = $2";

    private const string Load = "SELECT event_type, payload FROM es_events WHERE stream_type = $1 AND stream_id = $2 ORDER BY sequence";

    private const string Page =
        "SELECT global_position, stream_type, stream_id, sequence, event_id, event_type, event_version, payload, metadata, created_at " +
        "FROM es_events WHERE global_position > $1 ORDER BY global_position LIMIT $2";

    public static async Task AppendOneAsync(NpgsqlDataSource dataSource, string streamId, long sequence, object e)
    {
        var payload = BenchEvents.Serialize(e);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(InsertOne, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = BenchEvents.StreamType });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = sequence });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = Guid.CreateVersion7() });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = BenchEvents.NameOf(e) });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = 1 });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = payload });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = DateTimeOffset.UtcNow });
        await command.PrepareAsync();
        await command.ExecuteNonQueryAsync();
    }

    public static async Task AppendManyAsync(NpgsqlDataSource dataSource, string streamId, long firstSequence, IReadOnlyList<object> events)
    {
        var sequences = new long[events.Count];
        var ids = new Guid[events.Count];
        var types = new string[events.Count];
        var payloads = new string[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            sequences[i] = firstSequence + i;
            ids[i] = Guid.CreateVersion7();
            types[i] = BenchEvents.NameOf(events[i]);
            payloads[i] = BenchEvents.Serialize(events[i]);
        }

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(InsertMany, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = BenchEvents.StreamType });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = sequences });
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = types });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = payloads });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = DateTimeOffset.UtcNow });
        await command.PrepareAsync();
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Binary COPY of whole streams (sequences 1..n).</summary>
    public static async Task<long> CopyAsync(NpgsqlDataSource dataSource, IEnumerable<(string StreamId, IReadOnlyList<object> Events)> streams)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var writer = await connection.BeginBinaryImportAsync($"COPY es_events ({Columns}) FROM STDIN (FORMAT BINARY)");
        writer.Timeout = TimeSpan.Zero; // no timeout
        long count = 0;
        var now = DateTimeOffset.UtcNow;
        foreach (var (streamId, events) in streams)
        {
            for (var i = 0; i < events.Count; i++)
            {
                var e = events[i];
                await writer.StartRowAsync();
                await writer.WriteAsync(BenchEvents.StreamType, NpgsqlDbType.Text);
                await writer.WriteAsync(streamId, NpgsqlDbType.Text);
                await writer.WriteAsync((long)(i + 1), NpgsqlDbType.Bigint);
                await writer.WriteAsync(Guid.CreateVersion7(), NpgsqlDbType.Uuid);
                await writer.WriteAsync(BenchEvents.NameOf(e), NpgsqlDbType.Text);
                await writer.WriteAsync(1, NpgsqlDbType.Integer);
                await writer.WriteAsync(BenchEvents.Serialize(e), NpgsqlDbType.Jsonb);
                await writer.WriteNullAsync();
                await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
                count++;
            }
        }

        await writer.CompleteAsync();
        return count;
    }

    public static async Task<long> GetVersionAsync(NpgsqlDataSource dataSource, string streamId)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(Version, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = BenchEvents.StreamType });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        await command.PrepareAsync();
        return await command.ExecuteScalarAsync() is long v ? v : 0;
    }

    public static async Task<AccountState> LoadAsync(NpgsqlDataSource dataSource, string streamId)
    {
        var state = new AccountState();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(Load, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = BenchEvents.StreamType });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        await command.PrepareAsync();
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess);
        while (await reader.ReadAsync())
        {
            state.Apply(BenchEvents.Deserialize(reader.GetString(0), reader.GetString(1)));
        }

        return state;
    }

    /// <summary>Loads from the newest snapshot row (the library's es_snapshots table) and the events after it.</summary>
    public static async Task<AccountState> LoadFromSnapshotAsync(NpgsqlDataSource dataSource, string streamId)
    {
        var state = new AccountState();
        await using var connection = await dataSource.OpenConnectionAsync();
        long version;
        await using (var snapshot = new NpgsqlCommand(
            "SELECT version, state::text FROM es_snapshots WHERE stream_type = $1 AND stream_id = $2 ORDER BY version DESC LIMIT 1", connection))
        {
            snapshot.Parameters.Add(new NpgsqlParameter<string> { TypedValue = BenchEvents.StreamType });
            snapshot.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
            await snapshot.PrepareAsync();
            await using var reader = await snapshot.ExecuteReaderAsync();
            await reader.ReadAsync();
            version = reader.GetInt64(0);
            using var json = System.Text.Json.JsonDocument.Parse(reader.GetString(1));
            var root = json.RootElement;
            state.Restore(root.GetProperty("Id").GetGuid(), root.GetProperty("Balance").GetDecimal(), root.GetProperty("Operations").GetInt64());
        }

        await using var tail = new NpgsqlCommand(
            "SELECT event_type, payload::text FROM es_events WHERE stream_type = $1 AND stream_id = $2 AND sequence > $3 ORDER BY sequence", connection);
        tail.Parameters.Add(new NpgsqlParameter<string> { TypedValue = BenchEvents.StreamType });
        tail.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        tail.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
        await tail.PrepareAsync();
        await using var rows = await tail.ExecuteReaderAsync(CommandBehavior.SequentialAccess);
        while (await rows.ReadAsync())
        {
            state.Apply(BenchEvents.Deserialize(rows.GetString(0), rows.GetString(1)));
        }

        return state;
    }

    /// <summary>Reads every event by keyset paging on the position, deserializing each; returns the count.</summary>
    public static async Task<long> ReadAllAsync(NpgsqlDataSource dataSource, int pageSize, long limit, Action onPage)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(Page, connection);
        var after = new NpgsqlParameter<long> { TypedValue = 0 };
        command.Parameters.Add(after);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = pageSize });
        await command.PrepareAsync();
        long count = 0;
        while (count < limit)
        {
            var rows = 0;
            await using (var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess))
            {
                while (await reader.ReadAsync())
                {
                    var position = reader.GetInt64(0);
                    var streamType = reader.GetString(1);
                    var streamId = reader.GetString(2);
                    var sequence = reader.GetInt64(3);
                    var eventId = reader.GetGuid(4);
                    var eventType = reader.GetString(5);
                    var eventVersion = reader.GetInt32(6);
                    var data = BenchEvents.Deserialize(eventType, reader.GetString(7));
                    var metadata = reader.IsDBNull(8) ? null : reader.GetString(8);
                    GC.KeepAlive(new RawEnvelope(
                        position, streamType, streamId, sequence, eventId, eventType, eventVersion, data, metadata, reader.GetFieldValue<DateTimeOffset>(9)));
                    after.TypedValue = position;
                    rows++;
                }
            }

            count += rows;
            onPage();
            if (rows < pageSize)
            {
                break;
            }
        }

        return count;
    }
}

/// <summary>What the raw reader materializes per event (the same information as the library's envelope).</summary>
public sealed record RawEnvelope(
    long GlobalPosition, string StreamType, string StreamId, long Sequence, Guid EventId, string EventType, int EventVersion, object Data,
    string? Metadata, DateTimeOffset CreatedAt);
