using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using NUnit.Framework;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Saves that append events and change nothing else (on PostgreSQL they write their rows with one command of their
/// own, outside EF's update pipeline) settle exactly as EF's own saves do: by <c>acceptAllChangesOnSuccess</c>, on
/// pooled contexts too, sync and async, identically on both providers.
/// </summary>
public abstract class EventOnlySaveTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    [Test]
    public virtual async Task An_event_only_save_without_accepting_settles_nothing_until_AcceptAllChanges([Values] bool async)
    {
        var stream = NewStream();
        var account = BankAccount.Open(Guid.NewGuid(), "ada");
        account.Deposit(5);
        await using (var db = CreateContext())
        {
            db.Aggregates<BankAccount>().Add(account);
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            var written = async ? await db.SaveChangesAsync(acceptAllChangesOnSuccess: false) : db.SaveChanges(acceptAllChangesOnSuccess: false);
            Assert.That(written, Is.EqualTo(4));
            Assert.That(account.Version, Is.Zero, "written, not accepted: nothing settled");
            Assert.That(account.PendingEvents, Has.Count.EqualTo(2));

            db.ChangeTracker.AcceptAllChanges();
            Assert.That(account.Version, Is.EqualTo(2));
            Assert.That(account.PendingEvents, Is.Empty);
            Assert.That(await SaveAsync(db, async), Is.Zero, "accepted: a later save writes none of them again");
        }

        Assert.That((await ReadStreamAsync(stream)).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That((await ReadStreamAsync(account.StreamId)).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
    }

    /// <summary>
    /// Random leases of a pooled context factory, each appending to its own stream and saving with a random
    /// <c>acceptAllChangesOnSuccess</c> (then accepting or not): each save settles by its own argument, never by a lease
    /// before it, and every event is stored once.
    /// </summary>
    [Test]
    public virtual async Task Pooled_contexts_settle_each_event_only_save_by_its_own_acceptAllChangesOnSuccess([Values] bool async)
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed: {seed}");
        var random = new Random(seed);
        var factory = new PooledDbContextFactory<TestDbContext>(Fixture.CreateOptions(), poolSize: 2);
        var expected = new Dictionary<StreamId, int>();
        for (var lease = 0; lease < 24; lease++)
        {
            var acceptsAll = random.Next(2) == 0;
            var acceptsLater = random.Next(2) == 0;
            var account = BankAccount.Open(Guid.NewGuid(), "lease " + lease);
            for (var i = random.Next(0, 3); i > 0; i--)
            {
                account.Deposit(i);
            }

            var stream = NewStream();
            var events = random.Next(1, 4);
            await using (var db = async ? await factory.CreateDbContextAsync() : factory.CreateDbContext())
            {
                db.Aggregates<BankAccount>().Add(account);
                db.Events().Append(stream, ExpectedVersion.NoStream, Enumerable.Range(0, events).Select(i => (object)new Deposited(i)));
                var pending = account.PendingEvents.Count;
                var written = async ? await db.SaveChangesAsync(acceptsAll) : db.SaveChanges(acceptsAll);
                Assert.That(written, Is.EqualTo(pending + events), $"lease {lease}");
                if (acceptsAll)
                {
                    Assert.That(account.Version, Is.EqualTo(pending), $"lease {lease}: accepted on success");
                    Assert.That(account.PendingEvents, Is.Empty);
                }
                else
                {
                    Assert.That(account.Version, Is.Zero, $"lease {lease}: awaits AcceptAllChanges");
                    Assert.That(account.PendingEvents, Has.Count.EqualTo(pending));
                    if (acceptsLater)
                    {
                        db.ChangeTracker.AcceptAllChanges();
                        Assert.That(account.Version, Is.EqualTo(pending), $"lease {lease}: accepted");
                    }
                }

                expected[stream] = events;
                expected[account.StreamId] = pending;
            }
        }

        var all = await ReadAllAsync();
        foreach (var (stream, count) in expected)
        {
            Assert.That(all.Count(e => e.StreamId == stream), Is.EqualTo(count), stream.ToString());
        }

        Assert.That(all.Select(e => e.EventId), Is.Unique);
    }

    /// <summary>
    /// A context whose first save of an aggregate entity goes through EF (the library has not watched the context yet),
    /// then event-only saves with either argument: each settles as EF's own saves would.
    /// </summary>
    [Test]
    public virtual async Task Saves_on_one_context_alternate_between_entities_and_event_only_and_each_settles_by_its_argument([Values] bool async)
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed: {seed}");
        var random = new Random(seed);
        var stream = NewStream();
        long version = 0;
        await using var db = CreateContext();
        var ticket = Ticket.Open("first");
        db.Tickets.Add(ticket);
        await SaveAsync(db, async);
        Assert.That(ticket.Version, Is.EqualTo(1));
        for (var i = 0; i < 12; i++)
        {
            var acceptsAll = random.Next(2) == 0;
            if (random.Next(3) == 0)
            {
                ticket.Close("closed " + i);
            }

            db.Events().Append(stream, ExpectedVersion.Exactly(version), new Deposited(i));
            _ = async ? await db.SaveChangesAsync(acceptsAll) : db.SaveChanges(acceptsAll);
            if (!acceptsAll)
            {
                db.ChangeTracker.AcceptAllChanges();
            }

            version++;
            Assert.That(await db.Events().GetStreamVersionAsync(stream), Is.EqualTo(version));
            Assert.That(ticket.PendingEvents, Is.Empty, $"save {i}");
        }

        Assert.That(async ? await db.SaveChangesAsync() : db.SaveChanges(), Is.Zero);
        Assert.That((await ReadStreamAsync(stream)).Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(Enumerable.Range(0, 12).Select(i => (decimal)i)));
    }
}
