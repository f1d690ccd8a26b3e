using System.Diagnostics;
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
        var sent = new List<(ActivityTraceId Trace, string Command)>();
        using var source = new ActivitySource(nameof(LoadRoundTripNpgsqlTest));
        using var listener = Listen(source, sent);
        ActivityTraceId trace;
        using (var load = source.StartActivity("load")!)
        {
            trace = load.TraceId; // only the commands of this load count, whatever else runs in the process
            var loaded = await context.Aggregates<Portfolio>().LoadAsync(id, atVersion: 8);
            Assert.That(loaded.Describe(), Is.EqualTo(first.Describe()));
            Assert.That(loaded.AppliedSinceLoad, Is.EqualTo(unreadableSnapshot ? 8 : 1));
        }

        List<string> ours;
        lock (sent)
        {
            ours = sent.Where(s => s.Trace == trace).Select(s => s.Command).ToList();
        }

        Assert.That(ours, Has.Count.EqualTo(commands), string.Join("\n---\n", ours));
    }

    private static ActivityListener Listen(ActivitySource parent, List<(ActivityTraceId Trace, string Command)> sent)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql" || source == parent,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == "Npgsql")
                {
                    lock (sent)
                    {
                        sent.Add((activity.TraceId, activity.DisplayName + ": " + string.Join("; ", activity.TagObjects.Select(t => t.Key + "=" + t.Value))));
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}
