using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>Appending: staged by Append, written by the user's SaveChanges, versions 1..n, with the user's entities.</summary>
public abstract class AppendTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    [Test]
    public virtual async Task Append_then_SaveChanges_writes_events_at_versions_1_to_n([Values] bool async)
    {
        var stream = NewStream();
        await using (var db = CreateContext())
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10), new Withdrawn(3, "atm"), new Deposited(5));
            await SaveAsync(db, async);
        }

        var events = await ReadStreamAsync(stream);
        Assert.That(events.Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(events.Select(e => e.Data), Is.EqualTo(new object[] { new Deposited(10), new Withdrawn(3, "atm"), new Deposited(5) }));
        Assert.That(events.Select(e => e.EventType), Is.EqualTo(new[] { "test.deposited", "test.withdrawn", "test.deposited" }));
        Assert.That(events[1].EventTypeVersion, Is.EqualTo(2));
        Assert.That(events.All(e => e.StreamId == stream), Is.True);
        Assert.That(events.Select(e => e.GlobalPosition), Is.Ordered.Ascending);
    }

    [Test]
    public virtual async Task AppendAsync_returns_the_new_stream_version()
    {
        var stream = NewStream();
        await using var db = CreateContext();
        Assert.That(await db.Events().AppendAsync(stream, ExpectedVersion.NoStream, [new Deposited(1), new Deposited(2)]), Is.EqualTo(2));
        Assert.That(await db.Events().AppendAsync(stream, ExpectedVersion.Exactly(2), [new Deposited(3)]), Is.EqualTo(3));
        Assert.That(await db.Events().GetStreamVersionAsync(stream), Is.EqualTo(3));
    }

    [Test]
    public virtual async Task Events_and_user_entities_commit_in_one_SaveChanges([Values] bool async)
    {
        var stream = NewStream();
        var customer = new Customer { Name = "Ada", Email = Guid.NewGuid() + "@example.com" };
        await using (var db = CreateContext())
        {
            db.Customers.Add(customer);
            db.Events().Append(stream, ExpectedVersion.NoStream, new Renamed("Ada"));
            await SaveAsync(db, async);
        }

        await using var check = CreateContext();
        Assert.That(await check.Customers.AnyAsync(c => c.Id == customer.Id), Is.True);
        Assert.That(await check.Events().GetStreamVersionAsync(stream), Is.EqualTo(1));
    }

    [Test]
    public virtual async Task A_version_conflict_writes_nothing_not_even_the_user_entities([Values] bool async)
    {
        var stream = NewStream();
        await SeedAsync(stream, 2);
        var customer = new Customer { Name = "Bob", Email = Guid.NewGuid() + "@example.com" };
        await using (var db = CreateContext())
        {
            db.Customers.Add(customer);
            db.Events().Append(stream, ExpectedVersion.Exactly(1), new Deposited(1));
            var ex = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
            Assert.That(ex!.StreamId, Is.EqualTo(stream));
            Assert.That(ex.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(1)));
            Assert.That(ex.ActualVersion, Is.EqualTo(2));
        }

        await using var check = CreateContext();
        Assert.That(await check.Customers.AnyAsync(c => c.Id == customer.Id), Is.False);
        Assert.That(await check.Events().GetStreamVersionAsync(stream), Is.EqualTo(2));
    }
}
