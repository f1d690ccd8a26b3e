using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: inline read models roll back with the user's transaction; a catch-up projection waits for a lower
/// transaction that commits late instead of skipping it; a rebuild's bulk delete joins the reset transaction; the
/// checkpoint table's shape.
/// </summary>
public sealed class ProjectionTransactionNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task Inline_read_model_changes_roll_back_with_the_user_transaction()
    {
        var stream = NewStream();
        await using (var db = CreateContext(es => es.AddInlineProjection(new BalanceProjection("inline-balances"))))
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10));
            await db.SaveChangesAsync();
            Assert.That(await db.Set<AccountBalance>().CountAsync(b => b.Stream == stream.ToString()), Is.EqualTo(1), "visible inside the transaction");
            await transaction.RollbackAsync();
        }

        Assert.That(await ReadStreamAsync(stream), Is.Empty);
        await using var check = CreateContext();
        Assert.That(await check.Set<AccountBalance>().CountAsync(b => b.Stream == stream.ToString()), Is.Zero);
    }

    [Test]
    public async Task After_a_concurrency_failure_of_a_user_entity_the_retry_applies_each_event_to_the_inline_read_model_once([Values] bool async)
    {
        var stream = NewStream();
        await using (var seed = CreateContext(es => es.AddInlineProjection(new BalanceProjection("inline-balances"))))
        {
            seed.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10));
            await seed.SaveChangesAsync();
        }

        await using var db = CreateContext(es => es.AddInlineProjection(new BalanceProjection("inline-balances")));
        var tracked = (await db.Set<AccountBalance>().FindAsync("inline-balances", stream.ToString()))!;
        var ghost = new Customer { Name = "Ghost", Email = Guid.NewGuid() + "@example.com" };
        db.Customers.Remove(ghost); // not in the database: its DELETE affects no row
        db.Events().Append(stream, ExpectedVersion.Exactly(1), new Deposited(5));

        Assert.That(async () => await (async ? db.SaveChangesAsync() : Task.FromResult(db.SaveChanges())), Throws.InstanceOf<DbUpdateConcurrencyException>());
        Assert.That(await ReadStreamAsync(stream), Has.Count.EqualTo(1), "nothing was written");

        // EF raises concurrency failures from inside its command batch: the projection's changes are undone when the
        // context saves next, before the handlers run again.
        db.Entry(ghost).State = EntityState.Detached;
        if (async)
        {
            await db.SaveChangesAsync();
        }
        else
        {
            db.SaveChanges();
        }

        Assert.That(tracked.Balance, Is.EqualTo(15m));
        await using var check = CreateContext();
        var row = await check.Set<AccountBalance>().SingleAsync(b => b.Stream == stream.ToString());
        Assert.That((row.Balance, row.Version, row.Operations), Is.EqualTo((15m, 2L, 2)), "the retried event was applied once");
    }

    [Test]
    public async Task Catch_up_waits_for_a_lower_transaction_that_commits_late_and_then_applies_both_in_commit_order()
    {
        var late = NewStream();
        var early = NewStream();
        await using var writerA = CreateContext();
        await using var transactionA = await writerA.Database.BeginTransactionAsync();
        writerA.Events().Append(late, ExpectedVersion.NoStream, new Deposited(1));
        await writerA.SaveChangesAsync(); // A holds a transaction id below B's

        await SeedAsync(early, 1); // B commits first

        await using (var db = CreateContext(es => es.AddProjection<LedgerProjection>()))
        {
            Assert.That(await db.Projections().CatchUpAsync("ledger"), Is.Zero, "B is held back while the lower transaction A can still commit");
            Assert.That((await db.Projections().GetLagAsync("ledger")).EventsBehind, Is.EqualTo(1), "B is committed, so it counts as lag");
        }

        await transactionA.CommitAsync();

        await using (var db = CreateContext(es => es.AddProjection<LedgerProjection>()))
        {
            Assert.That(await db.Projections().CatchUpAsync("ledger"), Is.EqualTo(2));
            var ledger = await db.Set<LedgerRow>().OrderBy(r => r.Id).Select(r => r.Stream).ToListAsync();
            Assert.That(ledger, Is.EqualTo(new[] { late.ToString(), early.ToString() }), "the late commit was not skipped and came first");
        }
    }

    [Test]
    public async Task A_rebuild_reset_hook_may_bulk_delete_inside_the_reset_transaction()
    {
        var stream = NewStream();
        await SeedAsync(stream, 3);
        var reset = (Func<TestDbContext, CancellationToken, Task>)(async (db, ct) =>
        {
            Assert.That(db.Database.CurrentTransaction, Is.Not.Null, "the hook runs inside the reset transaction");
            await db.Set<AccountBalance>().Where(b => b.Projection == "bulk").ExecuteDeleteAsync(ct);
        });
        await using var db = CreateContext(es => es.AddProjection<TestDbContext>("bulk", p => p
            .On<Deposited>((ctx, e, envelope) =>
            {
                var row = ctx.Set<AccountBalance>().Find("bulk", envelope.StreamId.ToString());
                if (row is null)
                {
                    ctx.Add(row = new AccountBalance { Projection = "bulk", Stream = envelope.StreamId.ToString() });
                }

                row.Balance += e.Amount;
                row.Version = envelope.Version;
            })
            .OnReset(reset)));
        await db.Projections().CatchUpAsync("bulk");
        Assert.That(await db.Projections().RebuildAsync("bulk"), Is.EqualTo(3));
        Assert.That((await db.Set<AccountBalance>().AsNoTracking().SingleAsync(b => b.Projection == "bulk")).Balance, Is.EqualTo(6m));
    }

    [Test]
    public async Task The_checkpoint_table_stores_the_transaction_id_as_xid8()
    {
        await using var db = CreateContext();
        var columns = await db.Database
            .SqlQuery<string>($"SELECT column_name || ' ' || data_type AS \"Value\" FROM information_schema.columns WHERE table_name = 'es_checkpoints' ORDER BY ordinal_position")
            .ToListAsync();
        Assert.That(columns, Is.EquivalentTo(new[] { "projection character varying", "position bigint", "tx_id xid8", "system_identifier bigint", "updated_at timestamp with time zone" }));
        Assert.That(db.Model.FindEntityType(typeof(ProjectionCheckpoint))!.GetTableName(), Is.EqualTo("es_checkpoints"));
    }
}
