using EventSourcing.EFCore.Storage;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// A snapshot whose state does not read back the same is refused when it is taken (logged once per aggregate type);
/// the aggregate still saves, and loads replay its events, so a snapshot never changes the state.
/// </summary>
public abstract class LossySnapshotTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    [Test]
    public virtual async Task A_snapshot_that_loses_value_tuple_members_is_refused_and_the_aggregate_still_saves([Values] bool async)
    {
        var id = Guid.NewGuid();
        await using (var db = CreateContext(es => es.SnapshotEvery<Basket>(1)))
        {
            var basket = Basket.Create(id);
            basket.Add("apple", 3, 2.5m);
            basket.Add("pear", 1, 2m);
            db.Aggregates<Basket>().Add(basket);
            await SaveAsync(db, async);
            Assert.That(basket.Version, Is.EqualTo(3), "the events were saved");
        }

        await using (var db = CreateContext(es => es.SnapshotEvery<Basket>(1)))
        {
            Assert.That(await db.Set<StoredSnapshot>().CountAsync(s => s.StreamId == id.ToString()), Is.Zero, "no lossy snapshot stored");
            var loaded = await db.Aggregates<Basket>().LoadAsync(id);
            Assert.That(loaded.Total, Is.EqualTo(9.5m), "loaded by a full replay");
            await db.Aggregates<Basket>().SnapshotAsync(id);
            Assert.That(await db.Set<StoredSnapshot>().CountAsync(s => s.StreamId == id.ToString()), Is.Zero, "an explicit snapshot is refused too");
        }
    }

    [Test]
    public virtual async Task A_refused_snapshot_is_logged_once_per_aggregate_type_with_the_difference()
    {
        var log = new List<(EventId Id, string Message)>();
        for (var i = 0; i < 2; i++)
        {
            var builder = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions(es => es.SnapshotEvery<LoggedBasket>(1)));
            builder.UseLoggerFactory(new CapturingLoggerFactory(log));
            await using var db = new TestDbContext(builder.Options);
            var basket = LoggedBasket.Create(Guid.NewGuid());
            basket.Add("apple", 3, 2.5m);
            db.Aggregates<LoggedBasket>().Add(basket);
            await db.SaveChangesAsync();
        }

        var refused = log.Where(l => l.Id == EventSourcingEventId.SnapshotRefused).Select(l => l.Message).ToList();
        Assert.That(refused, Has.Count.EqualTo(1), "two refusals, one warning");
        Assert.That(refused[0], Does.Contain("LoggedBasket").And.Contain("_lines[\"apple\"]").And.Contain("3 became 0"));
    }
}
