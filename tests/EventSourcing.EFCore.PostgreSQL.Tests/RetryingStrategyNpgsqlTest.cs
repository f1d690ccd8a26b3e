using System.Data.Common;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// EF's documented retry pattern: <c>strategy.ExecuteInTransaction(db, c => c.SaveChanges(acceptAllChangesOnSuccess: false), verify)</c>
/// then <c>db.ChangeTracker.AcceptAllChanges()</c>. An attempt that rolls back must leave the next attempt writing every
/// event, and only a committed attempt settles the batches and aggregates.
/// </summary>
public sealed class RetryingStrategyNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    private const int MaxRetries = 2;

    [Test]
    public async Task A_rolled_back_first_attempt_and_a_committed_retry_write_the_events_once([Values] bool async, [Values] bool failAtCommit)
    {
        var stream = NewStream();
        var account = BankAccount.Open(Guid.NewGuid(), "ada");
        account.Deposit(7);
        var customer = new Customer { Name = "retry", Email = Guid.NewGuid() + "@example.com" };
        var failures = new FailureBudget(1, failAtCommit);
        await using (var db = CreateRetryingContext(failures))
        {
            db.Customers.Add(customer);
            db.Aggregates<BankAccount>().Add(account);
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            await SaveInRetryingTransactionAsync(db, failures, async);
            Assert.That(failures.Injected, Is.EqualTo(1));
            db.ChangeTracker.AcceptAllChanges();
            Assert.That(account.Version, Is.EqualTo(2));
            Assert.That(account.PendingEvents, Is.Empty);
        }

        Assert.That((await ReadStreamAsync(stream)).Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(new decimal[] { 1, 2 }));
        Assert.That((await ReadStreamAsync(account.StreamId)).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
        await using var check = CreateContext();
        Assert.That(await check.Customers.CountAsync(c => c.Id == customer.Id), Is.EqualTo(1));
    }

    /// <summary>
    /// Random units of work (appends to a few shared streams, new and loaded aggregates, user rows), each saved through
    /// the retry pattern with 0 to 3 injected failures (after SaveChanges or at commit; 3 exhausts the retries): every
    /// committed unit has each of its events exactly once, a rolled-back one has none.
    /// </summary>
    [Test]
    public async Task Random_units_of_work_with_injected_failures_commit_each_event_exactly_once([Values] bool async)
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed: {seed}");
        var random = new Random(seed);
        var streams = Enumerable.Range(0, 3).Select(_ => NewStream()).ToArray();
        var accounts = new List<(Guid Id, decimal Balance, int Events)>();
        var committedIds = new HashSet<Guid>();
        var rolledBackIds = new HashSet<Guid>();
        var committedCustomers = new HashSet<Guid>();
        var rolledBackCustomers = new HashSet<Guid>();

        for (var unit = 0; unit < 30; unit++)
        {
            var failures = new FailureBudget(random.Next(0, MaxRetries + 2), failAtCommit: random.Next(2) == 0);
            var ids = new List<Guid>();
            var customer = new Customer { Name = "u" + unit, Email = Guid.NewGuid() + "@example.com" };
            BankAccount? account = null;
            (Guid Id, decimal Balance, int Events) accountAfter = default;
            var accountIndex = -1;
            await using var db = CreateRetryingContext(failures);
            db.Customers.Add(customer);
            foreach (var stream in streams.Where(_ => random.Next(2) == 0))
            {
                var events = Enumerable.Range(0, random.Next(1, 4)).Select(i => new EventData(new Deposited(i)) { EventId = Guid.NewGuid() }).ToArray();
                ids.AddRange(events.Select(e => e.EventId!.Value));
                db.Events().Append(stream, ExpectedVersion.Any, events);
            }

            var amount = random.Next(1, 100);
            if (accounts.Count > 0 && random.Next(2) == 0)
            {
                accountIndex = random.Next(accounts.Count);
                account = await db.Aggregates<BankAccount>().LoadAsync(accounts[accountIndex].Id);
                account.Deposit(amount);
                accountAfter = (accounts[accountIndex].Id, accounts[accountIndex].Balance + amount, accounts[accountIndex].Events + 1);
            }
            else if (random.Next(2) == 0)
            {
                var id = Guid.NewGuid();
                account = BankAccount.Open(id, "owner" + unit);
                account.Deposit(amount);
                db.Aggregates<BankAccount>().Add(account);
                accountAfter = (id, amount, 2);
            }

            var committed = failures.Remaining <= MaxRetries;
            if (committed)
            {
                await SaveInRetryingTransactionAsync(db, failures, async);
                db.ChangeTracker.AcceptAllChanges();
                committedIds.UnionWith(ids);
                committedCustomers.Add(customer.Id);
                if (account is not null)
                {
                    Assert.That(account.Version, Is.EqualTo(accountAfter.Events), $"unit {unit}: the aggregate's version once accepted");
                    Assert.That(account.PendingEvents, Is.Empty);
                    if (accountIndex >= 0)
                    {
                        accounts[accountIndex] = accountAfter;
                    }
                    else
                    {
                        accounts.Add(accountAfter);
                    }
                }
            }
            else
            {
                Assert.ThrowsAsync<RetryLimitExceededException>(() => SaveInRetryingTransactionAsync(db, failures, async));
                rolledBackIds.UnionWith(ids);
                rolledBackCustomers.Add(customer.Id);
                Assert.That(account?.PendingEvents.Count ?? 0, Is.EqualTo(account is null ? 0 : accountIndex >= 0 ? 1 : 2), $"unit {unit}: nothing settled");
            }
        }

        var all = await ReadAllAsync();
        var stored = all.GroupBy(e => e.EventId).ToDictionary(g => g.Key, g => g.Count());
        Assert.That(committedIds.Where(id => stored.GetValueOrDefault(id) != 1), Is.Empty, "committed events stored exactly once");
        Assert.That(rolledBackIds.Where(stored.ContainsKey), Is.Empty, "rolled-back events stored");
        foreach (var group in all.GroupBy(e => e.StreamId))
        {
            Assert.That(group.Select(e => e.Version), Is.EqualTo(Enumerable.Range(1, group.Count()).Select(v => (long)v)), $"{group.Key}: versions 1..n");
        }

        await using var check = CreateContext();
        foreach (var (id, balance, events) in accounts)
        {
            var loaded = await check.Aggregates<BankAccount>().LoadAsync(id);
            Assert.That((loaded.Balance, loaded.Version), Is.EqualTo((balance, (long)events)), $"account {id}");
        }

        var customers = await check.Customers.Select(c => c.Id).ToListAsync();
        Assert.That(committedCustomers.Except(customers), Is.Empty);
        Assert.That(rolledBackCustomers.Intersect(customers), Is.Empty);
    }

    private static async Task SaveInRetryingTransactionAsync(TestDbContext db, FailureBudget failures, bool async)
    {
        var strategy = db.Database.CreateExecutionStrategy();
        if (async)
        {
            await strategy.ExecuteInTransactionAsync(
                db,
                async (c, ct) =>
                {
                    var written = await c.SaveChangesAsync(acceptAllChangesOnSuccess: false, ct);
                    failures.AfterSave();
                    return written;
                },
                (_, _) => Task.FromResult(false));
        }
        else
        {
            strategy.ExecuteInTransaction(
                db,
                c =>
                {
                    var written = c.SaveChanges(acceptAllChangesOnSuccess: false);
                    failures.AfterSave();
                    return written;
                },
                _ => false);
        }
    }

    private TestDbContext CreateRetryingContext(FailureBudget failures)
    {
        var builder = new DbContextOptionsBuilder<TestDbContext>();
        builder.UseNpgsql(Fixture.ConnectionString, o => o.ExecutionStrategy(d => new RetryOnInjectedFailure(d)));
        builder.AddInterceptors(new FailingCommits(failures));
        builder.UseEventSourcing(es => es.AddEvents(typeof(TestDbContext).Assembly).UsePostgreSql());
        return new TestDbContext(builder.Options);
    }

    private sealed class InjectedFailure() : Exception("injected failure");

    /// <summary>How many attempts still fail, and where: after SaveChanges inside the transaction, or at commit.</summary>
    private sealed class FailureBudget(int failures, bool failAtCommit)
    {
        public int Remaining { get; private set; } = failures;

        public int Injected { get; private set; }

        public void AfterSave()
        {
            if (!failAtCommit)
            {
                Fail();
            }
        }

        public void AtCommit()
        {
            if (failAtCommit)
            {
                Fail();
            }
        }

        private void Fail()
        {
            if (Remaining > 0)
            {
                Remaining--;
                Injected++;
                throw new InjectedFailure();
            }
        }
    }

    private sealed class FailingCommits(FailureBudget failures) : DbTransactionInterceptor
    {
        public override InterceptionResult TransactionCommitting(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result)
        {
            failures.AtCommit();
            return result;
        }

        public override ValueTask<InterceptionResult> TransactionCommittingAsync(
            DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
        {
            failures.AtCommit();
            return ValueTask.FromResult(result);
        }
    }

    private sealed class RetryOnInjectedFailure(ExecutionStrategyDependencies dependencies)
        : ExecutionStrategy(dependencies, MaxRetries, TimeSpan.FromMilliseconds(1))
    {
        protected override bool ShouldRetryOn(Exception exception) => exception is InjectedFailure;

        protected override TimeSpan? GetNextDelay(Exception lastException) => base.GetNextDelay(lastException) is null ? null : TimeSpan.Zero;
    }
}
