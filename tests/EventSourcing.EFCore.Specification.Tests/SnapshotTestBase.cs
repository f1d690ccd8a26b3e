using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Snapshots: taken when a save crosses a multiple of the policy (or a predicate says so) in the same SaveChanges as the
/// events; loading reads the newest snapshot plus the tail; stale snapshots are ignored, logged and rewritten.
/// </summary>
public abstract class SnapshotTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    [Test]
    public virtual async Task SnapshotEvery_takes_a_snapshot_when_a_save_crosses_a_multiple_and_keeps_only_the_newest([Values] bool async)
    {
        var id = Guid.NewGuid();
        await SaveNewAsync(id, buys: 6, async, es => es.SnapshotEvery(10)); // version 7
        Assert.That(await SnapshotVersionsAsync(id), Is.Empty);

        await BuyAsync(id, 6, async, es => es.SnapshotEvery(10)); // 7 -> 13 crosses 10: snapshot at 13
        Assert.That(await SnapshotVersionsAsync(id), Is.EqualTo(new long[] { 13 }));

        await BuyAsync(id, 5, async, es => es.SnapshotEvery(10)); // 13 -> 18: none
        Assert.That(await SnapshotVersionsAsync(id), Is.EqualTo(new long[] { 13 }));

        await BuyAsync(id, 2, async, es => es.SnapshotEvery(10)); // 18 -> 20: exactly on a multiple
        Assert.That(await SnapshotVersionsAsync(id), Is.EqualTo(new long[] { 20 }), "the older snapshot is deleted");

        await using var db = CreateContext();
        var loaded = await db.Aggregates<Portfolio>().LoadAsync(id);
        Assert.That(loaded.Version, Is.EqualTo(20));
        Assert.That(loaded.Describe(), Is.EqualTo(await FullReplayAsync(id)));
        Assert.That(loaded.AppliedSinceLoad, Is.Zero, "nothing after the snapshot: no event was replayed");
    }

    [Test]
    public virtual async Task Loading_reads_the_snapshot_and_then_only_the_events_after_it()
    {
        var id = Guid.NewGuid();
        await SaveNewAsync(id, buys: 9, async: true, es => es.SnapshotEvery(10)); // snapshot at 10
        await BuyAsync(id, 3, async: true, es => es.SnapshotEvery(10)); // tail 11..13

        // Prove where the state comes from: doctor the snapshot (same shape, other cash); a full replay would not see it.
        await UpdateSnapshotAsync(id, s =>
        {
            var state = System.Text.Json.Nodes.JsonNode.Parse(s.State)!;
            Assert.That(state["_cash"]!.GetValue<decimal>(), Is.EqualTo(910m));
            state["_cash"] = 123456m;
            s.State = state.ToJsonString();
        });

        await using var db = CreateContext();
        var loaded = await db.Aggregates<Portfolio>().LoadAsync(id);
        Assert.That(loaded.Version, Is.EqualTo(13));
        Assert.That(loaded.AppliedSinceLoad, Is.EqualTo(3), "only the 3 tail events were applied");
        Assert.That(loaded.Cash, Is.EqualTo(123456m - 3 * 10m), "the state started from the snapshot");
        Assert.That(loaded.Holding("ACME"), Is.EqualTo(12));
    }

    [Test]
    public virtual async Task A_per_type_policy_overrides_the_global_one()
    {
        var portfolio = Guid.NewGuid();
        var account = Guid.NewGuid();
        await using (var db = CreateContext(es => es.SnapshotEvery(1000).SnapshotEvery<Portfolio>(5)))
        {
            var p = Portfolio.Open(portfolio, "Ada");
            var a = BankAccount.Open(account, "Ada");
            for (var i = 0; i < 6; i++)
            {
                p.Buy("ACME", 1, 10m);
                a.Deposit(1);
            }

            db.Aggregates<Portfolio>().Add(p);
            db.Aggregates<BankAccount>().Add(a);
            await db.SaveChangesAsync();
        }

        Assert.That(await SnapshotVersionsAsync(portfolio), Is.EqualTo(new long[] { 7 }));
        Assert.That(await SnapshotVersionsAsync(account, "bank-account"), Is.Empty);
    }

    [Test]
    public virtual async Task A_predicate_policy_decides_from_the_aggregate_and_the_events_being_saved([Values] bool async)
    {
        Action<EventSourcingDbContextOptionsBuilder> policy = es => es.SnapshotWhen<Portfolio>((p, events) => events.OfType<Sold>().Any() && p.Trades > 2);
        var id = Guid.NewGuid();
        await SaveNewAsync(id, buys: 3, async, policy);
        Assert.That(await SnapshotVersionsAsync(id), Is.Empty, "no Sold event");

        await using (var db = CreateContext(policy))
        {
            var p = await db.Aggregates<Portfolio>().LoadAsync(id);
            p.Sell("ACME", 1, 12m);
            await SaveAsync(db, async);
        }

        Assert.That(await SnapshotVersionsAsync(id), Is.EqualTo(new long[] { 5 }));
    }

    [Test]
    public virtual async Task SnapshotAsync_takes_a_snapshot_on_demand_and_a_second_call_writes_nothing_new()
    {
        var id = Guid.NewGuid();
        await SaveNewAsync(id, buys: 4, async: true);
        await using (var db = CreateContext())
        {
            Assert.That(await db.Aggregates<Portfolio>().SnapshotAsync(id), Is.EqualTo(5));
        }

        Assert.That(await SnapshotVersionsAsync(id), Is.EqualTo(new long[] { 5 }));
        await using (var db = CreateContext())
        {
            Assert.That(await db.Aggregates<Portfolio>().SnapshotAsync(id), Is.EqualTo(5));
        }

        Assert.That(await SnapshotVersionsAsync(id), Is.EqualTo(new long[] { 5 }));
        await using (var db = CreateContext())
        {
            Assert.ThrowsAsync<AggregateNotFoundException>(() => db.Aggregates<Portfolio>().SnapshotAsync(Guid.NewGuid()));
        }
    }

    [Test]
    public virtual async Task The_snapshot_holds_private_fields_and_setters_but_not_NonSerialized_fields()
    {
        var id = Guid.NewGuid();
        await SaveNewAsync(id, buys: 2, async: true);
        await using (var db = CreateContext())
        {
            await db.Aggregates<Portfolio>().SnapshotAsync(id);
        }

        await using var read = CreateContext();
        var state = (await read.Set<StoredSnapshot>().AsNoTracking().SingleAsync(s => s.StreamId == id.ToString())).State;
        Assert.That(state, Does.Contain("\"_holdings\"").And.Contain("\"_cash\"").And.Contain("\"Owner\"").And.Contain("\"LastTrade\""));
        Assert.That(state, Does.Not.Contain("_appliedSinceLoad"));
    }

    [Test]
    public virtual async Task A_point_in_time_load_uses_only_a_snapshot_at_or_before_that_version()
    {
        var id = Guid.NewGuid();
        await SaveNewAsync(id, buys: 11, async: true, es => es.SnapshotEvery(10)); // snapshot at 12
        await using var db = CreateContext();
        var past = await db.Aggregates<Portfolio>().LoadAsync(id, atVersion: 8);
        Assert.That(past.Version, Is.EqualTo(8));
        Assert.That(past.Holding("ACME"), Is.EqualTo(7));
        var now = await db.Aggregates<Portfolio>().LoadAsync(id, atVersion: 12);
        Assert.That(now.AppliedSinceLoad, Is.Zero, "the snapshot at 12 is used");
        Assert.That(now.Describe(), Is.EqualTo(await FullReplayAsync(id)));
    }

    [Test]
    public virtual async Task A_save_that_loses_a_race_writes_no_snapshot_and_raises_StreamConcurrencyException([Values] bool async)
    {
        Action<EventSourcingDbContextOptionsBuilder> policy = es => es.SnapshotEvery(5);
        var id = Guid.NewGuid();
        await SaveNewAsync(id, buys: 8, async, policy); // version 9, snapshot at 9 (crossed 5)
        await using var winner = CreateContext(policy);
        await using var loser = CreateContext(policy);
        var a = await winner.Aggregates<Portfolio>().LoadAsync(id);
        var b = await loser.Aggregates<Portfolio>().LoadAsync(id);
        a.Buy("ACME", 1, 10m);
        b.Sell("ACME", 1, 10m);
        await SaveAsync(winner, async); // 10: snapshot, the one at 9 superseded

        var ex = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(loser, async));
        Assert.That(ex!.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(9)));
        Assert.That(ex.ActualVersion, Is.EqualTo(10));
        Assert.That(await SnapshotVersionsAsync(id), Is.EqualTo(new long[] { 10 }));
        await using var db = CreateContext();
        Assert.That((await db.Aggregates<Portfolio>().LoadAsync(id)).Describe(), Is.EqualTo(await FullReplayAsync(id)));
    }

    [Test]
    public virtual async Task A_failed_save_takes_no_snapshot_and_its_retry_takes_it_once([Values] bool async)
    {
        Action<EventSourcingDbContextOptionsBuilder> policy = es => es.SnapshotEvery(3);
        var id = Guid.NewGuid();
        await using var db = CreateContext(policy);
        var p = Portfolio.Open(id, "Ada");
        p.Buy("ACME", 1, 10m);
        p.Buy("ACME", 1, 10m);
        db.Aggregates<Portfolio>().Add(p);
        db.Events().Append(NewStream(), ExpectedVersion.StreamExists, new Deposited(1)); // fails the whole save
        Assert.ThrowsAsync<StreamNotFoundException>(() => SaveAsync(db, async));
        Assert.That(await SnapshotVersionsAsync(id), Is.Empty);

        db.Events().ClearStaged();
        await SaveAsync(db, async);
        Assert.That(await SnapshotVersionsAsync(id), Is.EqualTo(new long[] { 3 }));
        Assert.That(p.Version, Is.EqualTo(3));
    }

    [TestCase(typeof(PortfolioBeforeFieldAdded), TestName = "A_snapshot_from_before_a_field_was_added_is_ignored_and_rewritten")]
    [TestCase(typeof(PortfolioBeforeFieldRemoved), TestName = "A_snapshot_from_before_a_field_was_removed_is_ignored_and_rewritten")]
    [TestCase(typeof(PortfolioBeforeFieldRenamed), TestName = "A_snapshot_from_before_a_field_was_renamed_is_ignored_and_rewritten")]
    public virtual async Task A_snapshot_of_another_shape_is_ignored_and_rewritten(Type olderRelease)
    {
        var id = Guid.NewGuid();
        await SaveNewAsync(id, buys: 4, async: true);
        await using (var old = CreateContext())
        {
            // The older release took the snapshot (same stream type, same [SnapshotVersion], other fields).
            var snapshot = typeof(SnapshotTestBase<TFixture>).GetMethod(nameof(SnapshotWithAsync), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(olderRelease);
            await (Task)snapshot.Invoke(null, [old, id])!;
        }

        await AssertIgnoredAndRewrittenAsync(id);
    }

    [Test]
    public virtual async Task A_snapshot_of_an_older_SnapshotVersion_is_ignored_and_rewritten()
    {
        var id = Guid.NewGuid();
        await SaveNewAsync(id, buys: 4, async: true);
        await using (var db = CreateContext())
        {
            await db.Aggregates<Portfolio>().SnapshotAsync(id);
        }

        await UpdateSnapshotAsync(id, s => s.SchemaVersion = 2);
        await AssertIgnoredAndRewrittenAsync(id);
    }

    [Test]
    public virtual async Task A_snapshot_that_does_not_deserialize_is_ignored_and_rewritten()
    {
        var id = Guid.NewGuid();
        await SaveNewAsync(id, buys: 4, async: true);
        await using (var db = CreateContext())
        {
            await db.Aggregates<Portfolio>().SnapshotAsync(id);
        }

        await UpdateSnapshotAsync(id, s => s.State = """{"Id":"not a guid","_cash":"abc"}""");
        await AssertIgnoredAndRewrittenAsync(id);
    }

    [Test]
    public virtual void Snapshot_policies_are_validated_when_configured()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CreateContext(es => es.SnapshotEvery(0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => CreateContext(es => es.SnapshotEvery<Portfolio>(-1)));
        Assert.Throws<ArgumentNullException>(() => CreateContext(es => es.SnapshotWhen(null!)));
        var ex = Assert.Throws<InvalidOperationException>(() => CreateContext(es => es.SnapshotEvery<Ticket>(10)));
        Assert.That(ex!.Message, Does.Contain("AggregateRoot<TId>"));
    }

    /// <summary>Loads the stream (the stale snapshot must be ignored and logged), checks the state, saves, and checks the rewrite.</summary>
    private async Task AssertIgnoredAndRewrittenAsync(Guid id)
    {
        var log = new List<(EventId Id, string Message)>();
        await using (var db = CreateLoggingContext(log))
        {
            var p = await db.Aggregates<Portfolio>().LoadAsync(id);
            Assert.That(p.Describe(), Is.EqualTo(await FullReplayAsync(id)), "rebuilt from events");
            Assert.That(p.AppliedSinceLoad, Is.EqualTo(5), "every event was replayed");
            Assert.That(log.Select(l => l.Id), Does.Contain(EventSourcingEventId.SnapshotIgnored));
            p.Buy("ACME", 1, 10m);
            await db.SaveChangesAsync();
        }

        Assert.That(await SnapshotVersionsAsync(id), Is.EqualTo(new long[] { 6 }), "rewritten at the next save, the stale one deleted");
        await using (var db = CreateLoggingContext(log))
        {
            log.Clear();
            var p = await db.Aggregates<Portfolio>().LoadAsync(id);
            Assert.That(p.AppliedSinceLoad, Is.Zero, "the new snapshot is used");
            Assert.That(p.Describe(), Is.EqualTo(await FullReplayAsync(id)));
            Assert.That(log.Select(l => l.Id), Does.Not.Contain(EventSourcingEventId.SnapshotIgnored));
        }
    }

    private static async Task SnapshotWithAsync<TAggregate>(TestDbContext db, Guid id)
        where TAggregate : AggregateRoot<Guid>
        => await db.Aggregates<TAggregate>().SnapshotAsync(id);

    private TestDbContext CreateLoggingContext(List<(EventId Id, string Message)> log)
    {
        var builder = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions());
        builder.UseLoggerFactory(new CapturingLoggerFactory(log));
        return new TestDbContext(builder.Options);
    }

    protected async Task SaveNewAsync(Guid id, int buys, bool async, Action<EventSourcingDbContextOptionsBuilder>? configure = null)
    {
        await using var db = CreateContext(configure);
        var p = Portfolio.Open(id, "Ada");
        for (var i = 0; i < buys; i++)
        {
            p.Buy("ACME", 1, 10m);
        }

        db.Aggregates<Portfolio>().Add(p);
        await SaveAsync(db, async);
    }

    protected async Task BuyAsync(Guid id, int buys, bool async, Action<EventSourcingDbContextOptionsBuilder>? configure = null)
    {
        await using var db = CreateContext(configure);
        var p = await db.Aggregates<Portfolio>().LoadAsync(id);
        for (var i = 0; i < buys; i++)
        {
            p.Buy("ACME", 1, 10m);
        }

        await SaveAsync(db, async);
    }

    protected async Task<long[]> SnapshotVersionsAsync(Guid id, string streamType = "portfolio")
    {
        await using var db = CreateContext();
        return await db.Set<StoredSnapshot>().AsNoTracking()
            .Where(s => s.StreamType == streamType && s.StreamId == id.ToString())
            .OrderBy(s => s.Version)
            .Select(s => s.Version)
            .ToArrayAsync();
    }

    /// <summary>The state a replay of every event gives (a load by timestamp never uses snapshots).</summary>
    protected async Task<string> FullReplayAsync(Guid id)
    {
        await using var db = CreateContext();
        var replayed = await db.Aggregates<Portfolio>().LoadAsOfAsync(id, DateTimeOffset.MaxValue);
        return replayed.Describe();
    }

    private async Task UpdateSnapshotAsync(Guid id, Action<StoredSnapshot> change)
    {
        await using var db = CreateContext();
        var row = await db.Set<StoredSnapshot>().OrderByDescending(s => s.Version).FirstAsync(s => s.StreamId == id.ToString());
        change(row);
        await db.SaveChangesAsync();
    }
}
