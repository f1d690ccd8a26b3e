using System.Diagnostics;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: an open transaction that holds read-all back is named by the lag API at once, and logged as a
/// warning by catch-up batches once it has been open for 30 s. A prepared transaction (two-phase commit), which
/// outlives its session, is named too.
/// </summary>
public sealed class ReadHorizonHolderNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task A_transaction_holding_read_all_back_is_named_by_the_lag_and_logged_after_30_seconds()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(Fixture.ConnectionString) { ApplicationName = "horizon-holder", Pooling = false }.ConnectionString;
        await using var holder = new NpgsqlConnection(connectionString);
        await holder.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await using (var assign = new NpgsqlCommand("SELECT pg_current_xact_id()", holder, transaction))
        {
            await assign.ExecuteScalarAsync(); // the transaction now has an id: read-all waits for it
        }

        var stream = NewStream();
        await SeedAsync(stream, 1);
        var log = new List<(EventId Id, string Message)>();
        var builder = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions(es => es.AddProjection<BalanceProjection>()));
        builder.UseLoggerFactory(new CapturingLoggerFactory(log));
        await using var db = new TestDbContext(builder.Options);

        var lag = await db.Projections().GetLagAsync("balances");
        Assert.That(lag.EventsBehind, Is.EqualTo(1));
        Assert.That(lag.HeldBackBy, Is.Not.Null, "the lag names who holds the store back");
        Assert.That(lag.HeldBackBy!.ProcessId, Is.EqualTo(holder.ProcessID));
        Assert.That(lag.HeldBackBy.ApplicationName, Is.EqualTo("horizon-holder"));
        Assert.That(lag.HeldBackBy.State, Is.EqualTo("idle in transaction"));
        Assert.That(lag.HeldBackBy.Database, Is.EqualTo(holder.Database));

        var watch = Stopwatch.StartNew();
        while (!log.Any(l => l.Id == EventSourcingEventId.ReadHorizonHeldBack) && watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.That(await db.Projections().CatchUpAsync("balances"), Is.Zero, "the event is not visible yet");
            await Task.Delay(500);
        }

        var warning = log.Single(l => l.Id == EventSourcingEventId.ReadHorizonHeldBack).Message;
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(35)), "warned within seconds of the threshold");
        Assert.That(warning, Does.Contain("horizon-holder").And.Contain(holder.ProcessID.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        await transaction.CommitAsync();
        Assert.That(await db.Projections().CatchUpAsync("balances"), Is.EqualTo(1));
        Assert.That((await db.Projections().GetLagAsync("balances")).HeldBackBy, Is.Null);
    }

    [Test]
    public async Task A_prepared_transaction_holding_read_all_back_is_named_by_the_lag()
    {
        var gid = "es-horizon-" + Guid.NewGuid().ToString("N")[..8];
        await using (var holder = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Fixture.ConnectionString) { Pooling = false }.ConnectionString))
        {
            await holder.OpenAsync();
            await using var enabled = new NpgsqlCommand("SHOW max_prepared_transactions", holder);
            Assert.That(int.Parse((string)(await enabled.ExecuteScalarAsync())!, System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0),
                "the test server must allow prepared transactions (eng/postgres.sh sets max_prepared_transactions = 10)");
            foreach (var sql in new[] { "BEGIN", "SELECT pg_current_xact_id()", $"PREPARE TRANSACTION '{gid}'" })
            {
                await using var command = new NpgsqlCommand(sql, holder);
                await command.ExecuteNonQueryAsync();
            }
        } // the session is gone; the prepared transaction stays and holds read-all back

        var stream = NewStream();
        await using var db = new TestDbContext(Fixture.CreateOptions(es => es.AddProjection<BalanceProjection>()));
        try
        {
            await SeedAsync(stream, 1);
            var lag = await db.Projections().GetLagAsync("balances");
            Assert.That(lag.EventsBehind, Is.EqualTo(1));
            Assert.That(lag.HeldBackBy, Is.Not.Null, "the lag names the prepared transaction");
            Assert.Multiple(() =>
            {
                Assert.That(lag.HeldBackBy!.ProcessId, Is.Null, "a prepared transaction has no backend");
                Assert.That(lag.HeldBackBy.ApplicationName, Is.EqualTo(gid), "its global id");
                Assert.That(lag.HeldBackBy.State, Is.EqualTo("prepared"));
                Assert.That(lag.HeldBackBy.Database, Is.EqualTo(new NpgsqlConnectionStringBuilder(Fixture.ConnectionString).Database));
                Assert.That(lag.HeldBackBy.TransactionAge, Is.GreaterThanOrEqualTo(TimeSpan.Zero));
            });
            Assert.That(await db.Projections().CatchUpAsync("balances"), Is.Zero, "the event is not visible yet");
        }
        finally
        {
            await using var end = new NpgsqlConnection(Fixture.ConnectionString);
            await end.OpenAsync();
            await using var rollback = new NpgsqlCommand($"ROLLBACK PREPARED '{gid}'", end);
            await rollback.ExecuteNonQueryAsync();
        }

        Assert.That(await db.Projections().CatchUpAsync("balances"), Is.EqualTo(1));
        Assert.That((await db.Projections().GetLagAsync("balances")).HeldBackBy, Is.Null);
    }
}
