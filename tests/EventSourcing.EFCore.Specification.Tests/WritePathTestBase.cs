using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// The write path as users hit it: every save either writes its events exactly once or fails with a typed exception
/// before anything is written.
/// </summary>
public abstract class WritePathTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    protected static async Task<int> SaveWithoutAcceptingAsync(TestDbContext db, bool async)
        => async ? await db.SaveChangesAsync(acceptAllChangesOnSuccess: false) : db.SaveChanges(acceptAllChangesOnSuccess: false);

    [Test]
    public virtual async Task SaveChanges_without_accepting_settles_nothing_until_AcceptAllChanges([Values] bool async)
    {
        var stream = NewStream();
        var account = BankAccount.Open(Guid.NewGuid(), "ada");
        account.Deposit(5);
        var ticket = Ticket.Open("printer");
        await using (var db = CreateContext())
        {
            db.Aggregates<BankAccount>().Add(account);
            db.Tickets.Add(ticket);
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1));
            Assert.That(await SaveWithoutAcceptingAsync(db, async), Is.EqualTo(5)); // 4 event rows and the ticket row

            // Written, not accepted: nothing is settled (a retrying execution strategy may roll back and save again).
            Assert.That(account.Version, Is.Zero);
            Assert.That(account.PendingEvents, Has.Count.EqualTo(2));
            Assert.That(ticket.Version, Is.EqualTo(1), "a mapped Version is a column of the row being written");
            Assert.That(ticket.PendingEvents, Has.Count.EqualTo(1));

            db.ChangeTracker.AcceptAllChanges();
            Assert.That(account.Version, Is.EqualTo(2));
            Assert.That(account.PendingEvents, Is.Empty);
            Assert.That(ticket.Version, Is.EqualTo(1));
            Assert.That(ticket.PendingEvents, Is.Empty);
            Assert.That(db.ChangeTracker.Entries<Storage.StoredEvent>(), Is.Empty);

            // Accepted: a later save writes none of them again.
            Assert.That(await SaveAsync(db, async), Is.Zero);
        }

        Assert.That((await ReadStreamAsync(stream)).Select(e => e.Version), Is.EqualTo(new long[] { 1 }));
        Assert.That((await ReadStreamAsync(account.StreamId)).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That((await ReadStreamAsync(ticket.StreamId)).Select(e => e.Version), Is.EqualTo(new long[] { 1 }));
        await using var check = CreateContext();
        Assert.That((await check.Tickets.SingleAsync(t => t.Id == ticket.Id)).Version, Is.EqualTo(1));
    }
}
