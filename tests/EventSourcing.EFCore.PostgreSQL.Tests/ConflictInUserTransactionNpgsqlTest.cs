using System.Data;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: a lost race inside a user transaction (DESIGN.md section 2 "works with user transactions",
/// section 5 "translated into StreamConcurrencyException carrying ... ActualVersion (read after the failure)").
/// </summary>
public sealed class ConflictInUserTransactionNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task A_lost_race_inside_a_user_transaction_is_translated_and_rolls_back_only_that_save([Values] bool async)
    {
        var stream = NewStream();
        await SeedAsync(stream, 2);
        var customer = new Customer { Name = "Kept", Email = Guid.NewGuid() + "@example.com" };
        await using var winner = CreateContext();
        await using var loser = CreateContext();
        await using (var transaction = await loser.Database.BeginTransactionAsync())
        {
            loser.Customers.Add(customer);
            await SaveAsync(loser, async);
            winner.Events().Append(stream, ExpectedVersion.Exactly(2), new Deposited(1));
            await SaveAsync(winner, async);
            loser.Events().Append(stream, ExpectedVersion.Exactly(2), new Deposited(2));

            var conflict = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(loser, async));

            Assert.That(conflict!.StreamId, Is.EqualTo(stream));
            Assert.That(conflict.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(2)));
            Assert.That(conflict.ActualVersion, Is.EqualTo(3));
            await transaction.CommitAsync(); // EF rolled back to its savepoint: the transaction is still usable
        }

        await using var check = CreateContext();
        Assert.That(await check.Customers.AnyAsync(c => c.Id == customer.Id), Is.True, "the earlier save of the transaction committed");
        Assert.That((await ReadStreamAsync(stream)).Select(e => e.Data), Is.EqualTo(new object[] { new Deposited(1), new Deposited(2), new Deposited(1) }));
    }

    /// <summary>
    /// With <c>AutoSavepointsEnabled = false</c> the unique violation aborts the user's transaction, so the conflict
    /// must be classified on a separate connection (it once failed with 25P02, losing the 23505).
    /// </summary>
    [Test]
    public async Task A_lost_race_in_a_transaction_without_auto_savepoints_is_translated_to_StreamConcurrencyException([Values] bool async)
    {
        var stream = NewStream();
        await SeedAsync(stream, 2);
        await using var winner = CreateContext();
        await using var loser = CreateContext();
        loser.Database.AutoSavepointsEnabled = false;
        await using var transaction = await loser.Database.BeginTransactionAsync();
        winner.Events().Append(stream, ExpectedVersion.Exactly(2), new Deposited(1));
        await SaveAsync(winner, async);
        loser.Events().Append(stream, ExpectedVersion.Exactly(2), new Deposited(2));

        var failure = Assert.CatchAsync<Exception>(() => SaveAsync(loser, async));

        Assert.That(failure, Is.TypeOf<StreamConcurrencyException>(), "the conflict must not be replaced by an error of the post-failure probe");
        var conflict = (StreamConcurrencyException)failure!;
        Assert.That(conflict.StreamId, Is.EqualTo(stream));
        Assert.That(conflict.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(2)));
        Assert.That((conflict.InnerException?.InnerException as PostgresException)?.SqlState, Is.EqualTo(PostgresErrorCodes.UniqueViolation));
    }

    /// <summary>
    /// In a REPEATABLE READ or SERIALIZABLE transaction whose snapshot predates the winning commit, the conflict must
    /// be classified on a separate connection (reading the stale snapshot once reported ActualVersion 2 instead of 3).
    /// </summary>
    [Test]
    public async Task A_lost_race_in_a_snapshot_transaction_reports_the_version_the_winner_committed(
        [Values(IsolationLevel.RepeatableRead, IsolationLevel.Serializable)] IsolationLevel isolationLevel, [Values] bool async)
    {
        var stream = NewStream();
        await SeedAsync(stream, 2);
        await using var winner = CreateContext();
        await using var loser = CreateContext();
        await using var transaction = await loser.Database.BeginTransactionAsync(isolationLevel);
        var version = await loser.Events().GetStreamVersionAsync(stream); // the transaction's snapshot is taken here
        winner.Events().Append(stream, ExpectedVersion.Exactly(2), new Deposited(1));
        await SaveAsync(winner, async);
        loser.Events().Append(stream, ExpectedVersion.Exactly(version!.Value), new Deposited(2));

        var conflict = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(loser, async));

        Assert.That(conflict!.StreamId, Is.EqualTo(stream));
        Assert.That(conflict.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(2)));
        Assert.That(conflict.ActualVersion, Is.EqualTo(3), "the stream is at 3; 2 is the loser's stale snapshot");
    }
}
