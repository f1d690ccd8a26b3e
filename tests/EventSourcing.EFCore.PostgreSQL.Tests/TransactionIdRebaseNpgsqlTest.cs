using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: after a restore into a cluster whose transaction counter is lower than the stored transaction ids,
/// catch-up and lag fail with <see cref="CheckpointTransactionIdException"/> instead of silently applying nothing, and
/// the documented rebase procedure (rewrite the old ids, then RebaseCheckpointAsync) makes catch-up resume exactly.
/// </summary>
public sealed class TransactionIdRebaseNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task Transaction_ids_from_another_cluster_fail_loudly_and_the_rebase_procedure_resumes_catch_up()
    {
        var stream = NewStream();
        await SeedAsync(stream, 3); // Deposited 1..3
        long stored;
        await using (var db = CreateContext(es => es.AddProjection<BalanceProjection>()))
        {
            await db.Projections().CatchUpAsync("balances");
            stored = (await db.Projections().GetLagAsync("balances")).Checkpoint.Position;

            // What a restore into a younger cluster looks like: every stored id is far above this cluster's counter.
            await db.Database.ExecuteSqlRawAsync("UPDATE es_events SET tx_id = (tx_id::text::bigint + 1000000000)::text::xid8");
            await db.Database.ExecuteSqlRawAsync("UPDATE es_checkpoints SET tx_id = (tx_id::text::bigint + 1000000000)::text::xid8");
        }

        var other = NewStream();
        await SeedAsync(other, 1); // Deposited(1), written with this cluster's (lower) id
        await using (var db = CreateContext(es => es.AddProjection<BalanceProjection>()))
        {
            var error = Assert.ThrowsAsync<CheckpointTransactionIdException>(() => db.Projections().CatchUpAsync("balances"))!;
            Assert.That(error.Projection, Is.EqualTo("balances"));
            Assert.That(error.StoredCheckpoint.Position, Is.EqualTo(stored));
            Assert.That(error.HighestStoredTransactionId, Is.GreaterThanOrEqualTo(error.NextTransactionId));
            Assert.ThrowsAsync<CheckpointTransactionIdException>(() => db.Projections().GetLagAsync("balances"), "lag does not report 0 either");

            // The rebase procedure: the old ids become the lowest normal id (their order by position is kept) …
            await db.Database.ExecuteSqlRawAsync("UPDATE es_events SET tx_id = '3'::xid8 WHERE tx_id >= pg_snapshot_xmax(pg_current_snapshot())");
            // … and the checkpoint is rebased on its stored position.
            await db.Projections().RebaseCheckpointAsync("balances", error.StoredCheckpoint.Position);
            Assert.That((await db.Projections().GetLagAsync("balances")).EventsBehind, Is.EqualTo(1));
            Assert.That(await db.Projections().CatchUpAsync("balances"), Is.EqualTo(1), "only the event written after the restore");
        }

        await using var check = CreateContext();
        Assert.That((await check.Set<AccountBalance>().SingleAsync(b => b.Projection == "balances" && b.Stream == stream.ToString())).Balance, Is.EqualTo(6m));
        Assert.That((await check.Set<AccountBalance>().SingleAsync(b => b.Projection == "balances" && b.Stream == other.ToString())).Balance, Is.EqualTo(1m));
    }

    [Test]
    public async Task A_checkpoint_written_by_another_cluster_fails_loudly_and_a_rebase_resumes_catch_up_exactly()
    {
        var stream = NewStream();
        await SeedAsync(stream, 2); // Deposited 1..2
        long cluster;
        await using (var db = CreateContext(es => es.AddProjection<BalanceProjection>()))
        {
            Assert.That(await db.Projections().CatchUpAsync("balances"), Is.EqualTo(2));
            cluster = await db.Database.SqlQueryRaw<long>("SELECT system_identifier AS \"Value\" FROM pg_control_system()").SingleAsync();
            var stored = await db.Set<EventSourcing.EFCore.Storage.ProjectionCheckpoint>().AsNoTracking().SingleAsync(c => c.Projection == "balances");
            Assert.That(stored.SystemIdentifier, Is.EqualTo(cluster), "the checkpoint records the cluster that wrote it");

            // What a cut-over to another cluster looks like when its counter happens to be higher: the stored ids are
            // all below this cluster's counter, so only the cluster's identifier tells.
            await db.Database.ExecuteSqlRawAsync("UPDATE es_checkpoints SET system_identifier = system_identifier # 1");
        }

        await SeedAsync(stream, 1, ExpectedVersion.Exactly(2)); // Deposited(3)
        await using (var db = CreateContext(es => es.AddProjection<BalanceProjection>()))
        {
            var error = Assert.ThrowsAsync<CheckpointTransactionIdException>(() => db.Projections().CatchUpAsync("balances"))!;
            Assert.That(error.Projection, Is.EqualTo("balances"));
            Assert.That(error.StoredSystemIdentifier, Is.EqualTo(cluster ^ 1));
            Assert.That(error.CurrentSystemIdentifier, Is.EqualTo(cluster));
            Assert.That(error.Message, Does.Contain((cluster ^ 1).ToString(System.Globalization.CultureInfo.InvariantCulture)).And.Contain("RebaseCheckpointAsync"));
            var lag = Assert.ThrowsAsync<CheckpointTransactionIdException>(() => db.Projections().GetLagAsync("balances"), "lag does not report 0 either")!;
            Assert.That(lag.StoredSystemIdentifier, Is.EqualTo(cluster ^ 1));

            var rebased = await db.Projections().RebaseCheckpointAsync("balances", error.StoredCheckpoint.Position);
            Assert.That(rebased.Position, Is.EqualTo(error.StoredCheckpoint.Position));
            Assert.That((await db.Projections().GetLagAsync("balances")).EventsBehind, Is.EqualTo(1));
            Assert.That(await db.Projections().CatchUpAsync("balances"), Is.EqualTo(1), "only the event after the checkpoint: none missed, none repeated");
            var stored = await db.Set<EventSourcing.EFCore.Storage.ProjectionCheckpoint>().AsNoTracking().SingleAsync(c => c.Projection == "balances");
            Assert.That(stored.SystemIdentifier, Is.EqualTo(cluster));
        }

        await using var check = CreateContext();
        Assert.That((await check.Set<AccountBalance>().SingleAsync(b => b.Projection == "balances" && b.Stream == stream.ToString())).Balance, Is.EqualTo(4m), "1 + 2, then 1 after the rebase");
    }
}
