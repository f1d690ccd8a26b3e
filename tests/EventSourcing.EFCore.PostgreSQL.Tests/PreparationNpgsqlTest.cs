using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: deployments people run. With <c>Multiplexing=true</c> Npgsql refuses explicit preparation, so the
/// library must not prepare; behind PgBouncer in transaction pooling mode users turn it off with
/// <c>UsePostgreSql(explicitPreparation: false)</c>.
/// </summary>
public sealed class PreparationNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    /// <summary>Async only: Npgsql itself refuses synchronous commands on a multiplexing connection.</summary>
    [Test]
    public async Task Appends_replays_and_read_all_work_with_multiplexing()
    {
        const bool async = true;
        var connectionString = new NpgsqlConnectionStringBuilder(Fixture.ConnectionString) { Multiplexing = true }.ConnectionString;
        var stream = NewStream();
        var account = BankAccount.Open(Guid.NewGuid(), "mux");
        account.Deposit(3);
        await using (var db = CreateContext(connectionString, explicitPreparation: true))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            db.Aggregates<BankAccount>().Add(account);
            await SaveAsync(db, async);
            db.Events().Append(stream, ExpectedVersion.Exactly(2), new Deposited(3));
            await SaveAsync(db, async);
        }

        await using (var db = CreateContext(connectionString, explicitPreparation: true))
        {
            var loaded = await db.Aggregates<BankAccount>().LoadAsync(account.Id);
            Assert.That(loaded.Balance, Is.EqualTo(3));
            Assert.That(await ToListAsync(db.Events().ReadAllAsync(GlobalCheckpoint.Start)), Has.Count.EqualTo(5));
            Assert.That((await ToListAsync(db.Events().ReadStreamAsync(stream))).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3 }));
        }
    }

    [Test]
    public async Task Without_explicit_preparation_nothing_is_prepared_on_the_connection([Values] bool explicitPreparation)
    {
        var stream = NewStream();
        var account = BankAccount.Open(Guid.NewGuid(), "pgbouncer");
        await using var db = CreateContext(Fixture.ConnectionString + ";Max Auto Prepare=0", explicitPreparation);
        await db.Database.OpenConnectionAsync(); // one physical connection for the whole test
        await db.Database.ExecuteSqlRawAsync("DEALLOCATE ALL");
        db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
        db.Aggregates<BankAccount>().Add(account);
        await db.SaveChangesAsync();
        Assert.That((await db.Aggregates<BankAccount>().LoadAsync(account.Id)).Version, Is.EqualTo(1));
        Assert.That(await ToListAsync(db.Events().ReadAllAsync(GlobalCheckpoint.Start)), Has.Count.EqualTo(3));

        var prepared = await db.Database.SqlQueryRaw<long>("SELECT count(*) AS \"Value\" FROM pg_prepared_statements").SingleAsync();
        Assert.That(prepared, explicitPreparation ? Is.GreaterThan(0) : Is.Zero);
    }

    private static TestDbContext CreateContext(string connectionString, bool explicitPreparation)
        => new(new DbContextOptionsBuilder<TestDbContext>()
            .UseNpgsql(connectionString)
            .UseEventSourcing(es => es.AddEvents(typeof(TestDbContext).Assembly).UsePostgreSql(explicitPreparation))
            .Options);
}
