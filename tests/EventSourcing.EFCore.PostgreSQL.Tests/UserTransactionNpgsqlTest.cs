using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// Appends inside a user transaction (BeginTransaction): EF wraps each SaveChanges in a savepoint, so a conflict is
/// classified and the transaction stays usable; committing or rolling back decides for events and entities together.
/// </summary>
public sealed class UserTransactionNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task A_conflict_inside_a_user_transaction_is_typed_and_the_transaction_stays_usable([Values] bool async)
    {
        var contested = NewStream();
        var other = NewStream();
        await SeedAsync(contested, 1);
        var customer = new Customer { Name = "tx", Email = Guid.NewGuid() + "@example.com" };

        await using (var db = CreateContext())
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            db.Events().Append(other, ExpectedVersion.NoStream, new Deposited(1));
            await SaveAsync(db, async);

            db.Events().Append(contested, ExpectedVersion.NoStream, new Deposited(2));
            var ex = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
            Assert.That(ex!.StreamId, Is.EqualTo(contested));
            Assert.That(ex.ActualVersion, Is.EqualTo(1));

            // The failed batch stays staged (like EF's tracked changes) until it is discarded.
            db.Events().ClearStaged();
            db.Customers.Add(customer);
            db.Events().Append(contested, ExpectedVersion.Exactly(1), new Deposited(3));
            await SaveAsync(db, async);
            await transaction.CommitAsync();
        }

        Assert.That((await ReadStreamAsync(contested)).Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(new decimal[] { 1, 3 }));
        Assert.That((await ReadStreamAsync(other)).Select(e => e.Version), Is.EqualTo(new long[] { 1 }));
        await using var check = CreateContext();
        Assert.That(await check.Customers.AnyAsync(c => c.Id == customer.Id), Is.True);
    }

    [Test]
    public async Task Rolling_back_a_user_transaction_discards_its_events_and_entities([Values] bool async)
    {
        var stream = NewStream();
        var customer = new Customer { Name = "rollback", Email = Guid.NewGuid() + "@example.com" };
        await using (var db = CreateContext())
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            db.Customers.Add(customer);
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            await SaveAsync(db, async);
            await transaction.RollbackAsync();
        }

        Assert.That(await ReadStreamAsync(stream), Is.Empty);
        Assert.That(await ReadAllAsync(), Is.Empty);
        await using var check = CreateContext();
        Assert.That(await check.Customers.AnyAsync(c => c.Id == customer.Id), Is.False);
    }

    [Test]
    public async Task A_unique_violation_of_a_user_entity_rolls_back_the_events_and_keeps_them_staged([Values] bool async)
    {
        var stream = NewStream();
        var email = Guid.NewGuid() + "@example.com";
        await using (var seed = CreateContext())
        {
            seed.Customers.Add(new Customer { Name = "first", Email = email });
            await seed.SaveChangesAsync();
        }

        await using var db = CreateContext();
        var duplicate = new Customer { Name = "second", Email = email };
        db.Customers.Add(duplicate);
        db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1));
        var ex = Assert.ThrowsAsync<DbUpdateException>(() => SaveAsync(db, async));
        Assert.That(ex, Is.Not.InstanceOf<StreamConcurrencyException>(), "a user entity's violation is not translated");
        Assert.That(await ReadStreamAsync(stream), Is.Empty);

        // Fix the user's entity and save again on the same context: the staged event is written exactly once.
        duplicate.Email = Guid.NewGuid() + "@example.com";
        await SaveAsync(db, async);
        Assert.That((await ReadStreamAsync(stream)).Select(e => e.Version), Is.EqualTo(new long[] { 1 }));
    }
}
