using System.Diagnostics;
using System.Globalization;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL: a 1,000,000-event stream (bulk-loaded with binary COPY) with a snapshot near its end loads from the
/// snapshot and a short tail. Prints the measured load times; asserts only the state.
/// </summary>
public sealed class LargeStreamSnapshotNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    private const int Events = 1_000_000;

    [Test]
    public async Task A_million_event_stream_with_a_recent_snapshot_loads_from_the_snapshot_and_its_tail()
    {
        const long id = 4_200_042;
        var stopwatch = Stopwatch.StartNew();
        await CopyEventsAsync(id, Events);
        var copied = stopwatch.Elapsed;

        stopwatch.Restart();
        await using (var db = CreateContext())
        {
            Assert.That(await db.Aggregates<Counter>().SnapshotAsync(id), Is.EqualTo(Events)); // one full replay, then the snapshot
        }

        var snapshotted = stopwatch.Elapsed;
        await using (var db = CreateContext())
        {
            var counter = await db.Aggregates<Counter>().LoadAsync(id);
            for (var i = 0; i < 5; i++)
            {
                counter.Increment(id);
            }

            await db.SaveChangesAsync(); // a tail of 5 events after the snapshot
        }

        var timings = new List<double>();
        for (var run = 0; run < 53; run++)
        {
            await using var db = CreateContext();
            stopwatch.Restart();
            var counter = await db.Aggregates<Counter>().LoadAsync(id);
            var elapsed = stopwatch.Elapsed.TotalMilliseconds;
            Assert.That(counter.Version, Is.EqualTo(Events + 5));
            Assert.That(counter.Value, Is.EqualTo(Events + 5));
            if (run >= 3)
            {
                timings.Add(elapsed); // the first runs warm up EF's query cache and the connection pool
            }
        }

        timings.Sort();
        await TestContext.Out.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"1,000,000-event stream: COPY {copied.TotalSeconds:F1} s; full replay + snapshot {snapshotted.TotalSeconds:F1} s; "
            + $"load from snapshot + 5-event tail over {timings.Count} loads: p50 {timings[timings.Count / 2]:F2} ms, "
            + $"p90 {timings[timings.Count * 9 / 10]:F2} ms, max {timings[^1]:F2} ms"));
    }

    private async Task CopyEventsAsync(long id, int count)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        var streamId = id.ToString(CultureInfo.InvariantCulture);
        var payload = "{\"counterId\":" + streamId + "}";
        var now = DateTimeOffset.UtcNow;
        await using var writer = await connection.BeginBinaryImportAsync(
            "COPY es_events (stream_type, stream_id, sequence, event_id, event_type, event_version, payload, created_at) FROM STDIN (FORMAT BINARY)");
        for (var sequence = 1L; sequence <= count; sequence++)
        {
            await writer.StartRowAsync();
            await writer.WriteAsync("counter", NpgsqlDbType.Text);
            await writer.WriteAsync(streamId, NpgsqlDbType.Text);
            await writer.WriteAsync(sequence, NpgsqlDbType.Bigint);
            await writer.WriteAsync(Guid.CreateVersion7(), NpgsqlDbType.Uuid);
            await writer.WriteAsync("test.counter-incremented", NpgsqlDbType.Text);
            await writer.WriteAsync(1, NpgsqlDbType.Integer);
            await writer.WriteAsync(payload, NpgsqlDbType.Jsonb);
            await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
        }

        await writer.CompleteAsync();
    }
}
