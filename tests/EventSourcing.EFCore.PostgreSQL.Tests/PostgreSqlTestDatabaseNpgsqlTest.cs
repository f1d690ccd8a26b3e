using EventSourcing.EFCore.Reference;
using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Testing;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// The Testing package's <see cref="PostgreSqlTestDatabase{TContext}"/> (Respawn) on databases of its own: it creates
/// the schema, and a reset empties the event store's and the user's tables and keeps the migrations history and the
/// tables the user keeps.
/// </summary>
public sealed class PostgreSqlTestDatabaseNpgsqlTest
{
    [Test]
    public async Task Reset_empties_the_event_store_and_the_users_tables_and_keeps_the_tables_to_keep()
    {
        var seed = Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        await using var scratch = await ScratchDatabase.CreateAsync();
        var options = new DbContextOptionsBuilder<TestDbContext>()
            .UseNpgsql(scratch.ConnectionString)
            .UseEventSourcing(es => es.UsePostgreSql().AddEvents(typeof(TestDbContext).Assembly).SnapshotEvery(5)
                .UseOutbox(o => o.PublishAll("audit")).AddProjection<BalanceProjection>())
            .Options;
        var database = new PostgreSqlTestDatabase<TestDbContext>(() => new TestDbContext(options)) { TablesToKeep = ["tickets"] };
        await database.InitializeAsync(); // TestDbContext has no migrations: EnsureCreated

        for (var round = 0; round < 3; round++)
        {
            var stream = new StreamId("account", "reused"); // the same stream every round: a reset really forgets it
            var accounts = random.Next(1, 5);
            var deposits = random.Next(1, 30);
            await using (var db = database.CreateContext())
            {
                db.Events().Append(stream, ExpectedVersion.NoStream, Enumerable.Range(1, deposits).Select(i => (object)new Deposited(i)).ToArray());
                for (var i = 0; i < accounts; i++)
                {
                    var account = BankAccount.Open(Guid.NewGuid(), "owner " + i);
                    foreach (var _ in Enumerable.Range(0, random.Next(0, 12)))
                    {
                        account.Deposit(1);
                    }

                    db.Aggregates<BankAccount>().Add(account);
                }

                db.Customers.Add(new Customer { Name = "Ada", Email = $"ada{round}@example.com" });
                db.Add(Ticket.Open("round " + round));
                await db.SaveChangesAsync();
                await db.Projections().CatchUpAsync("balances");
            }

            await using (var db = database.CreateContext())
            {
                Assert.That(await db.Set<StoredEvent>().CountAsync(), Is.GreaterThanOrEqualTo(deposits + accounts));
                Assert.That(await db.Set<StoredOutboxMessage>().CountAsync(), Is.GreaterThan(0));
                Assert.That(await db.Set<ProjectionCheckpoint>().CountAsync(), Is.EqualTo(1));
                Assert.That(await db.Set<AccountBalance>().CountAsync(), Is.GreaterThan(0));
            }

            await database.ResetAsync();

            await using (var db = database.CreateContext())
            {
                Assert.That(await db.Set<StoredEvent>().CountAsync(), Is.Zero, $"round {round}: events");
                Assert.That(await db.Set<StoredSnapshot>().CountAsync(), Is.Zero, "snapshots");
                Assert.That(await db.Set<StoredOutboxMessage>().CountAsync(), Is.Zero, "outbox");
                Assert.That(await db.Set<ProjectionCheckpoint>().CountAsync(), Is.Zero, "checkpoints");
                Assert.That(await db.Set<AccountBalance>().CountAsync(), Is.Zero, "the user's read model");
                Assert.That(await db.Customers.CountAsync(), Is.Zero, "the user's table");
                Assert.That(await db.Tickets.CountAsync(), Is.EqualTo(round + 1), "a table to keep keeps its rows");
                Assert.That(await db.Events().GetStreamVersionAsync(stream), Is.Null);
            }
        }
    }

    [Test]
    public async Task Initialize_applies_the_contexts_migrations_and_a_reset_keeps_the_migrations_history()
    {
        await using var scratch = await ScratchDatabase.CreateAsync();
        var database = new PostgreSqlTestDatabase<ReferenceDbContext>(scratch.CreateReferenceContext);
        await database.InitializeAsync();
        await database.InitializeAsync(); // twice is harmless: nothing left to migrate

        await using (var db = database.CreateContext())
        {
            Assert.That(await db.Database.GetAppliedMigrationsAsync(), Is.EqualTo(db.Database.GetMigrations()));
            db.OrderSummaries.Add(new OrderSummary { Id = Guid.NewGuid(), Customer = "Ada", Total = 10m, UpdatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
        }

        await database.ResetAsync();

        await using (var db = database.CreateContext())
        {
            Assert.That(await db.OrderSummaries.CountAsync(), Is.Zero);
            Assert.That(await db.Database.GetAppliedMigrationsAsync(), Is.EqualTo(db.Database.GetMigrations()), "the migrations history survives a reset");
            Assert.That(await db.Database.GetPendingMigrationsAsync(), Is.Empty);
        }
    }
}
