using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: a catch-up batch runs its handlers before it takes the checkpoint lock, so while a handler is slow the
/// batch's transaction has no transaction id and does not hold back read-all for anyone; the checkpoint and read model are
/// written in a short phase at the end, and the batch still applies each event once.
/// </summary>
public sealed class ProjectionHandlerHorizonNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task A_batch_whose_handler_is_blocked_holds_no_transaction_id_and_does_not_hold_read_all_back()
    {
        var entered = new SemaphoreSlim(0);
        var release = new SemaphoreSlim(0);
        var pid = 0;
        var options = Fixture.CreateOptions(es => es.AddProjection<TestDbContext>("blocking", p => p.On<Deposited>(async (db, e, envelope, ct) =>
        {
            pid = await db.Database.SqlQueryRaw<int>("SELECT pg_backend_pid() AS \"Value\"").SingleAsync(ct);
            entered.Release();
            await release.WaitAsync(ct);
            db.Add(new AccountBalance { Projection = "blocking", Stream = envelope.StreamId.ToString(), Balance = e.Amount, Version = envelope.Version });
        })));
        var first = NewStream();
        await SeedAsync(first, 1);

        Task<long> catchUp;
        await using (var runner = new TestDbContext(options))
        {
            catchUp = runner.Projections().CatchUpAsync("blocking");
            try
            {
                Assert.That(await entered.WaitAsync(TimeSpan.FromSeconds(30)), Is.True, "the handler runs");
                await using (var monitor = new NpgsqlConnection(Fixture.ConnectionString))
                {
                    await monitor.OpenAsync();
                    await using var command = new NpgsqlCommand("SELECT backend_xid::text, state FROM pg_stat_activity WHERE pid = @pid", monitor);
                    command.Parameters.AddWithValue("pid", pid);
                    await using var reader = await command.ExecuteReaderAsync();
                    Assert.That(await reader.ReadAsync(), Is.True);
                    Assert.That(reader.IsDBNull(0), Is.True, "the batch's transaction has no id while its handler runs");
                    Assert.That(reader.GetString(1), Is.EqualTo("idle in transaction"), "the batch runs inside its transaction");
                }

                // An append committed meanwhile is visible to read-all at once: the blocked batch holds nothing back.
                var second = NewStream();
                await SeedAsync(second, 1);
                var all = await ReadAllAsync();
                Assert.That(all.Select(e => e.StreamId), Does.Contain(second));
            }
            finally
            {
                release.Release(10);
            }

            Assert.That(await catchUp, Is.EqualTo(1), "the batch read before the second append");
            Assert.That(await runner.Projections().CatchUpAsync("blocking"), Is.EqualTo(1), "the next one applies the second event once");
        }

        await using var db = new TestDbContext(options);
        Assert.That(await db.Set<AccountBalance>().CountAsync(b => b.Projection == "blocking"), Is.EqualTo(2));
        Assert.That((await db.Projections().GetLagAsync("blocking")).IsCaughtUp, Is.True);
    }
}
