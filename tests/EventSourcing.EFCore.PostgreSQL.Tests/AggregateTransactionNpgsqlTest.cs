using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>Aggregates with user transactions and retrying execution strategies (PostgreSQL: real transactions).</summary>
public sealed class AggregateTransactionNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task After_a_user_rollback_the_aggregate_is_ahead_of_the_store_and_its_next_save_fails_typed()
    {
        var id = Guid.NewGuid();
        await using (var seed = CreateContext())
        {
            seed.Aggregates<BankAccount>().Add(BankAccount.Open(id, "Ada"));
            await seed.SaveChangesAsync();
        }

        await using var db = CreateContext();
        var account = await db.Aggregates<BankAccount>().LoadAsync(id);
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            account.Deposit(5);
            await db.SaveChangesAsync();
            Assert.That(account.Version, Is.EqualTo(2), "the save succeeded inside the transaction");
            await transaction.RollbackAsync();
        }

        // The documented behaviour: the aggregate believes version 2 is stored; the stream is at 1. Its next save is
        // rejected (the expected version is ahead of the stream), never silently applied; reload to continue.
        account.Deposit(7);
        var ex = Assert.ThrowsAsync<StreamConcurrencyException>(() => db.SaveChangesAsync());
        Assert.That(ex!.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(2)));
        Assert.That(ex.ActualVersion, Is.EqualTo(1));

        await using var fresh = CreateContext();
        var reloaded = await fresh.Aggregates<BankAccount>().LoadAsync(id);
        Assert.That(reloaded.Version, Is.EqualTo(1));
        Assert.That(reloaded.Balance, Is.Zero);
    }

    [Test]
    public async Task With_EnableRetryOnFailure_load_decide_and_save_run_inside_the_retried_delegate()
    {
        var id = Guid.NewGuid();
        var options = new DbContextOptionsBuilder<TestDbContext>()
            .UseNpgsql(Fixture.ConnectionString, o => o.EnableRetryOnFailure(3))
            .UseEventSourcing(es => es.UsePostgreSql().AddEvents(typeof(TestDbContext).Assembly))
            .Options;
        await using (var seed = new TestDbContext(options))
        {
            seed.Aggregates<BankAccount>().Add(BankAccount.Open(id, "Ada"));
            await seed.SaveChangesAsync();
        }

        var attempts = 0;
        await using (var outer = new TestDbContext(options))
        {
            await outer.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
            {
                // A fresh context per attempt: a retry must reload, not reuse an aggregate loaded by the failed attempt.
                attempts++;
                await using var db = new TestDbContext(options);
                await using var transaction = await db.Database.BeginTransactionAsync();
                var account = await db.Aggregates<BankAccount>().LoadAsync(id);
                account.Deposit(10);
                await db.SaveChangesAsync();
                await transaction.CommitAsync();
            });
        }

        Assert.That(attempts, Is.EqualTo(1));
        await using var check = CreateContext();
        Assert.That((await check.Aggregates<BankAccount>().LoadAsync(id)).Balance, Is.EqualTo(10));
    }
}
