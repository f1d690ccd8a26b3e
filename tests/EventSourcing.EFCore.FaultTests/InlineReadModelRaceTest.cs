using System.Data.Common;
using EventSourcing.EFCore.FaultTests.Worker;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>
/// The restart scenario's untyped error reduced to a deterministic case: two saves create the same account (NoStream),
/// each with its inline read-model row. The loser's inline handler ran before the winner committed (so it inserts the
/// row too), and the loser's batch reaches the database after the winner's commit. The caller must get the stream
/// conflict (<see cref="StreamConcurrencyException"/>), as for any lost race, whatever statement of the batch fails first.
/// </summary>
[TestFixture]
public sealed class InlineReadModelRaceTest
{
    [Test]
    public async Task A_lost_race_to_create_a_stream_whose_inline_read_model_row_collides_is_a_stream_conflict([Values] bool async)
    {
        var connectionString = await FaultCluster.CreateDatabaseAsync("race");
        var account = "race-" + Guid.NewGuid().ToString("N")[..8];
        var winner = new WinnerSavesFirst(() =>
        {
            using var other = new FaultDbContext(FaultStore.CreateOptions(connectionString));
            var created = Account.Open(account);
            created.Move(1, 10);
            other.Aggregates<Account>().Add(created);
            other.SaveChanges();
        });
        await using var db = new FaultDbContext(FaultStore.CreateOptions(connectionString, configure: b => b.AddInterceptors(winner)));
        var loser = Account.Open(account);
        loser.Move(2, 20);
        db.Aggregates<Account>().Add(loser);

        Exception? thrown = null;
        try
        {
            if (async)
            {
                await db.SaveChangesAsync();
            }
            else
            {
                db.SaveChanges();
            }
        }
        catch (DbUpdateException e)
        {
            thrown = e;
        }

        Assert.Multiple(() =>
        {
            Assert.That(winner.Ran, Is.True, "the winner saved between the loser's inline handlers and its batch");
            Assert.That(thrown, Is.InstanceOf<StreamConcurrencyException>(), thrown is null ? "no exception" : OutcomeLog.Describe(thrown));
        });
    }

    /// <summary>Runs the winner's save just before the loser's first INSERT reaches the server (once).</summary>
    private sealed class WinnerSavesFirst(Action winner) : DbCommandInterceptor
    {
        public bool Ran { get; private set; }

        public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
        {
            RunOnce(command);
            return result;
        }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            RunOnce(command);
            return ValueTask.FromResult(result);
        }

        public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
        {
            RunOnce(command);
            return result;
        }

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            RunOnce(command);
            return ValueTask.FromResult(result);
        }

        private void RunOnce(DbCommand command)
        {
            if (!Ran && command.CommandText.Contains("INSERT", StringComparison.OrdinalIgnoreCase))
            {
                Ran = true;
                winner();
            }
        }
    }
}
