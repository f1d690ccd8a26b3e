using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only (EF InMemory has no round trips): an aggregate load reads its snapshot and the events after it with
/// ONE command; a snapshot that the server accepts but that does not deserialize costs a second command (the full
/// replay). Commands are counted with Npgsql's own tracing (its ActivitySource), on a warm connection.
/// </summary>
public sealed class LoadRoundTripNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [TestCase(false, 1, TestName = "A_load_with_a_usable_snapshot_is_one_command")]
    [TestCase(true, 2, TestName = "A_load_whose_snapshot_does_not_deserialize_replays_with_a_second_command")]
    public async Task Commands_per_load(bool unreadableSnapshot, int commands)
    {
        var id = Guid.NewGuid();
        await using (var db = CreateContext())
        {
            var p = Portfolio.Open(id, "Ada");
            for (var i = 0; i < 6; i++)
            {
                p.Buy("ACME", 1, 10m);
            }

            db.Aggregates<Portfolio>().Add(p);
            await db.SaveChangesAsync();
            await db.Aggregates<Portfolio>().SnapshotAsync(id); // at 7
        }

        await using (var db = CreateContext())
        {
            var p = await db.Aggregates<Portfolio>().LoadAsync(id);
            p.Sell("ACME", 2, 12m);
            await db.SaveChangesAsync(); // tail: 8
            if (unreadableSnapshot)
            {
                var row = await db.Set<StoredSnapshot>().SingleAsync(s => s.StreamId == id.ToString());
                row.State = """{"Id":"not a guid"}""";
                await db.SaveChangesAsync();
            }
        }

        await using var context = CreateContext();
        await context.Database.OpenConnectionAsync(); // one physical connection: the statement is prepared by the first load
        var first = await context.Aggregates<Portfolio>().LoadAsync(id, atVersion: 8);
        using var recorder = new NpgsqlCommandRecorder(nameof(LoadRoundTripNpgsqlTest));
        var ours = await recorder.RecordAsync(async () =>
        {
            var loaded = await context.Aggregates<Portfolio>().LoadAsync(id, atVersion: 8);
            Assert.That(loaded.Describe(), Is.EqualTo(first.Describe()));
            Assert.That(loaded.AppliedSinceLoad, Is.EqualTo(unreadableSnapshot ? 8 : 1));
        });

        Assert.That(ours, Has.Count.EqualTo(commands), string.Join("\n---\n", ours));
    }
}
