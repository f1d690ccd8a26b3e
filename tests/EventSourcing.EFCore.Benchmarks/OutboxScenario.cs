using System.Diagnostics;
using System.Text.Json;
using EventSourcing.EFCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>
/// Scenario I: outbox dispatch throughput to a no-op publisher. The outbox rows are written by the library (one message
/// per event, <c>PublishAll</c>), spread over <see cref="Streams"/> streams; before each run every row is put back to
/// pending. Library: <c>db.Outbox().DispatchPendingAsync</c> with the default settings (per-stream order, batches of 100:
/// lease in one statement, publish, record the outcomes in one statement), and a second library variant with
/// <c>DispatchUnordered(1)</c> (no stream-head rule, publishes one at a time like the others). Raw Npgsql: a
/// <c>FOR UPDATE SKIP LOCKED</c> claim of 100 due rows by id that leases them (attempt + 1, owner, expiry), the publish of
/// each (headers parsed from JSON as the library does), and one update marking the batch dispatched.
/// </summary>
public sealed class OutboxScenario(BenchDatabase db, BenchSettings settings)
{
    public const string Unordered = "library, unordered";
    private const int Streams = 200;
    private const int BatchSize = 100;

    private const string RawClaim = """
        WITH locked AS (
            SELECT id FROM es_outbox
             WHERE dispatched_at IS NULL AND dead_lettered_at IS NULL AND (attempts = 0 OR next_attempt_at <= now())
             ORDER BY id
             LIMIT $1
               FOR UPDATE SKIP LOCKED)
        UPDATE es_outbox AS o
           SET attempts = o.attempts + 1, lease_owner = $2, lease_expires_at = now() + interval '1 minute',
               next_attempt_at = now() + interval '1 minute'
          FROM locked l
         WHERE o.id = l.id
        RETURNING o.id, o.event_id, o.destination, o.event_type, o.stream_type, o.stream_id, o.payload::text, o.headers::text, o.attempts
        """;

    private const string RawMark = """
        UPDATE es_outbox SET dispatched_at = now(), lease_owner = NULL, lease_expires_at = NULL
         WHERE id = ANY($1) AND lease_owner = $2 AND dispatched_at IS NULL AND dead_lettered_at IS NULL
        """;

    public async Task<ScenarioResult> RunAsync()
    {
        var ordered = Factory(o => o.PublishAll("bench"));
        var unordered = Factory(o => o.PublishAll("bench").DispatchUnordered(1));
        await SeedAsync(ordered);
        var messages = settings.OutboxMessages;
        var result = new ScenarioResult("I", $"outbox dispatch, {messages:N0} messages over {Streams} streams, no-op publisher", "messages/s", new Target(0.7, "≥ 0.7"), timeRatio: false)
        {
            Note = "the target applies to the default (per-stream ordered) library dispatcher; the raw loop and the unordered library "
                + "variant claim due rows by id without the stream-head rule. Every variant publishes one message at a time.",
        };
        var publisher = new NoOpPublisher();
        return await Bench.RunAsync(
            result,
            settings.OutboxRuns,
            [
                Timed(Bench.Library, messages, async () =>
                {
                    await using var context = ordered.CreateDbContext();
                    return await context.Outbox().DispatchPendingAsync(publisher);
                }),
                Timed(Bench.Raw, messages, () => RawDispatchAsync(publisher)),
                Timed(Unordered, messages, async () =>
                {
                    await using var context = unordered.CreateDbContext();
                    return await context.Outbox().DispatchPendingAsync(publisher);
                }),
            ],
            _ => ResetAsync());
    }

    private PooledDbContextFactory<LibraryDbContext> Factory(Action<OutboxOptionsBuilder> outbox)
        => new(new DbContextOptionsBuilder<LibraryDbContext>()
            .UseNpgsql(db.ConnectionString)
            .UseEventSourcing(es => es.UsePostgreSql().AddEvents(typeof(Deposited).Assembly).UseJsonSerializerOptions(BenchEvents.Json).UseOutbox(outbox))
            .Options);

    /// <summary>Appends the events through the library with the outbox on: one message per event, streams filled in turn.</summary>
    private async Task SeedAsync(PooledDbContextFactory<LibraryDbContext> factory)
    {
        var streams = Enumerable.Range(0, Streams).Select(_ => Guid.CreateVersion7()).ToArray();
        var perStream = settings.OutboxMessages / Streams;
        const int perSave = 25;
        for (var from = 0; from < perStream; from += perSave)
        {
            await using var context = factory.CreateDbContext();
            foreach (var stream in streams)
            {
                var events = Enumerable.Range(from + 1, Math.Min(perSave, perStream - from)).Select(n => BenchEvents.Create(stream, n)).ToArray();
                context.Events().Append(new StreamId(BenchEvents.StreamType, stream.ToString()), ExpectedVersion.Exactly(from), events);
            }

            await context.SaveChangesAsync();
        }

        await db.AnalyzeAsync();
    }

    /// <summary>Puts every outbox row back to pending with no attempt made.</summary>
    private async Task ResetAsync()
    {
        await using (var command = db.DataSource.CreateCommand(
            "UPDATE es_outbox SET dispatched_at = NULL, dead_lettered_at = NULL, attempts = 0, next_attempt_at = now(), lease_owner = NULL, lease_expires_at = NULL, last_error = NULL"))
        {
            await command.ExecuteNonQueryAsync();
        }

        await using var vacuum = db.DataSource.CreateCommand("VACUUM ANALYZE es_outbox");
        await vacuum.ExecuteNonQueryAsync();
    }

    private async Task<int> RawDispatchAsync(NoOpPublisher publisher)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        await using var claim = new NpgsqlCommand(RawClaim, connection);
        var owner = new NpgsqlParameter<string> { TypedValue = "" };
        claim.Parameters.Add(new NpgsqlParameter<int> { TypedValue = BatchSize });
        claim.Parameters.Add(owner);
        await using var mark = new NpgsqlCommand(RawMark, connection);
        var ids = new NpgsqlParameter<long[]> { TypedValue = [] };
        var markOwner = new NpgsqlParameter<string> { TypedValue = "" };
        mark.Parameters.Add(ids);
        mark.Parameters.Add(markOwner);
        await claim.PrepareAsync();
        await mark.PrepareAsync();

        var published = 0;
        while (true)
        {
            owner.TypedValue = markOwner.TypedValue = Guid.NewGuid().ToString("N");
            var batch = new List<(long Id, OutboxMessage Message)>(BatchSize);
            await using (var reader = await claim.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    batch.Add((reader.GetInt64(0), new OutboxMessage
                    {
                        MessageId = reader.GetGuid(1),
                        Destination = reader.GetString(2),
                        EventType = reader.GetString(3),
                        StreamId = new StreamId(reader.GetString(4), reader.GetString(5)),
                        Payload = reader.GetString(6),
                        Headers = JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(7))!,
                        Attempt = reader.GetInt32(8),
                    }));
                }
            }

            if (batch.Count == 0)
            {
                return published;
            }

            foreach (var (_, message) in batch)
            {
                await publisher.PublishAsync(message, CancellationToken.None);
            }

            ids.TypedValue = batch.Select(b => b.Id).ToArray();
            await mark.ExecuteNonQueryAsync();
            published += batch.Count;
        }
    }

    private Variant Timed(string name, int messages, Func<Task<int>> dispatch)
        => new(name, async run =>
        {
            var sample = new RunSample();
            sample.Start();
            var t = Stopwatch.GetTimestamp();
            var published = await dispatch();
            sample.AddLatency(Stopwatch.GetElapsedTime(t).TotalMilliseconds / Math.Max(1, (published + BatchSize - 1) / BatchSize));
            sample.Stop();
            if (published != messages)
            {
                throw new InvalidOperationException($"{name} published {published} messages, expected {messages}.");
            }

            sample.Units = published;
            return sample;
        });

    /// <summary>A publisher that accepts every message at once.</summary>
    private sealed class NoOpPublisher : IOutboxPublisher
    {
        public Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken)
        {
            GC.KeepAlive(message);
            return Task.CompletedTask;
        }
    }
}
