using System.Data.Common;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: the event rows of one SaveChanges go out as ONE <c>INSERT … SELECT … FROM unnest(…)</c> statement
/// inside EF's own command batch and transaction, store values map back by event id, positions follow versions in
/// every stream, and a rejected statement still carries SQLSTATE and constraint name to the conflict classifier.
/// </summary>
public sealed class EventBatchNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task Events_of_one_save_go_out_as_one_unnest_statement_without_a_transaction([Values] bool async)
    {
        var stream = NewStream();
        var capture = new CommandCapture();
        await using (var db = CreateCapturingContext(capture))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, Enumerable.Range(1, 100).Select(i => (object)new Deposited(i)));
            await SaveAsync(db, async);
        }

        Assert.That(capture.Commands, Has.Count.EqualTo(1), "one command for the whole save");
        Assert.That(Count(capture.Commands[0], "INSERT INTO"), Is.EqualTo(1), "one INSERT statement for 100 events");
        Assert.That(capture.Commands[0], Does.Contain("unnest("));
        Assert.That(capture.Transactions, Is.Zero, "a single statement needs no BEGIN/COMMIT");

        var events = await ReadStreamAsync(stream);
        Assert.That(events.Select(e => e.Version), Is.EqualTo(Enumerable.Range(1, 100).Select(i => (long)i)));
        Assert.That(events.Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(Enumerable.Range(1, 100).Select(i => (decimal)i)));
        Assert.That(events.Select(e => e.GlobalPosition), Is.Ordered.Ascending.And.Unique);
    }

    [Test]
    public async Task Events_and_user_entities_of_one_save_commit_together_in_one_command([Values] bool async)
    {
        var first = NewStream();
        var second = NewStream();
        var capture = new CommandCapture();
        var customer = new Customer { Name = "Ada", Email = Guid.NewGuid() + "@example.com" };
        await using (var db = CreateCapturingContext(capture))
        {
            db.Events().Append(first, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            db.Customers.Add(customer);
            db.Events().Append(second, ExpectedVersion.NoStream, new Deposited(3), new Deposited(4), new Deposited(5));
            await SaveAsync(db, async);
        }

        Assert.That(capture.Commands, Has.Count.EqualTo(1));
        Assert.That(Count(capture.Commands[0], "unnest("), Is.EqualTo(1), "the events of both streams in one statement");
        Assert.That(Count(capture.Commands[0], "INSERT INTO"), Is.EqualTo(2), "plus the customer's own INSERT");
        Assert.That(capture.Transactions, Is.EqualTo(1), "two statements: one transaction");
        Assert.That((await ReadStreamAsync(first)).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That((await ReadStreamAsync(second)).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3 }));
        await using var check = CreateContext();
        Assert.That(await check.Customers.CountAsync(c => c.Id == customer.Id), Is.EqualTo(1));
    }

    [Test]
    public async Task SaveChanges_counts_every_event_row_although_EF_tracks_one_per_save([Values] bool async)
    {
        await using var db = CreateContext();
        db.Events().Append(NewStream(), ExpectedVersion.NoStream, Enumerable.Range(1, 40).Select(i => (object)new Deposited(i)));
        db.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(41), new Deposited(42));
        db.Customers.Add(new Customer { Name = "Bob", Email = Guid.NewGuid() + "@example.com" });

        Assert.That(await SaveAsync(db, async), Is.EqualTo(43), "42 event rows and 1 customer, as if every row were tracked");
        Assert.That(db.ChangeTracker.Entries<EventSourcing.EFCore.Storage.StoredEvent>(), Is.Empty, "no event row stays tracked");
        Assert.That(await ReadAllAsync(), Has.Count.EqualTo(42));
    }

    [Test]
    public async Task Positions_follow_versions_in_every_stream_of_one_save([Values] bool async)
    {
        var a = NewStream();
        var b = NewStream();
        var c = NewStream();
        await SeedAsync(b, 2);
        await using (var db = CreateContext())
        {
            db.Events().Append(c, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            db.Events().Append(a, ExpectedVersion.NoStream, new Deposited(3));
            db.Events().Append(b, ExpectedVersion.Exactly(2), new Deposited(4), new Deposited(5), new Deposited(6));
            db.Events().Append(a, ExpectedVersion.Exactly(1), new Deposited(7), new Deposited(8));
            db.Events().Append(c, ExpectedVersion.Exactly(2), new Deposited(9));
            await SaveAsync(db, async);
        }

        var all = await ReadAllAsync();
        foreach (var stream in new[] { a, b, c })
        {
            var events = all.Where(e => e.StreamId == stream).ToList();
            Assert.That(events.Select(e => e.Version), Is.EqualTo(Enumerable.Range(1, events.Count).Select(i => (long)i)), stream.ToString());
            Assert.That(events.Select(e => e.GlobalPosition), Is.Ordered.Ascending, stream + ": positions follow versions");
        }

        Assert.That(all.Where(e => e.StreamId == a).Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(new decimal[] { 3, 7, 8 }));
        Assert.That(all.Where(e => e.StreamId == c).Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(new decimal[] { 1, 2, 9 }));
    }

    [Test]
    public async Task A_lost_race_in_the_unnest_statement_keeps_SqlState_and_constraint_name_for_the_classifier([Values] bool async)
    {
        var stream = NewStream();
        await SeedAsync(stream, 3);
        await using var db = CreateContext();
        db.Events().Append(stream, ExpectedVersion.Exactly(2), new Deposited(10), new Deposited(11), new Deposited(12));

        var conflict = async
            ? Assert.ThrowsAsync<StreamConcurrencyException>(() => db.SaveChangesAsync())!
            : Assert.Throws<StreamConcurrencyException>(() => db.SaveChanges())!;

        Assert.That(conflict.StreamId, Is.EqualTo(stream));
        Assert.That(conflict.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(2)));
        Assert.That(conflict.ActualVersion, Is.EqualTo(3));
        var update = conflict.InnerException as DbUpdateException;
        Assert.That(update, Is.Not.Null, "the typed exception wraps EF's DbUpdateException");
        var error = update!.InnerException as PostgresException;
        Assert.That(error, Is.Not.Null);
        Assert.That(error!.SqlState, Is.EqualTo(PostgresErrorCodes.UniqueViolation));
        Assert.That(error.ConstraintName, Is.EqualTo("ux_es_events_stream"));
        Assert.That((await ReadStreamAsync(stream)).Count, Is.EqualTo(3), "nothing written");
    }

    private TestDbContext CreateCapturingContext(CommandCapture capture)
    {
        var builder = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions());
        builder.AddInterceptors(capture);
        return new TestDbContext(builder.Options);
    }

    private static int Count(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>Records the SaveChanges commands and the transactions EF starts.</summary>
    private sealed class CommandCapture : DbCommandInterceptor, IDbTransactionInterceptor
    {
        public List<string> Commands { get; } = [];

        public int Transactions { get; private set; }

        public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
        {
            Record(command, eventData);
            return result;
        }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            Record(command, eventData);
            return ValueTask.FromResult(result);
        }

        public DbTransaction TransactionStarted(DbConnection connection, TransactionEndEventData eventData, DbTransaction result)
        {
            Transactions++;
            return result;
        }

        public ValueTask<DbTransaction> TransactionStartedAsync(
            DbConnection connection, TransactionEndEventData eventData, DbTransaction result, CancellationToken cancellationToken = default)
        {
            Transactions++;
            return ValueTask.FromResult(result);
        }

        private void Record(DbCommand command, CommandEventData eventData)
        {
            if (eventData.CommandSource == CommandSource.SaveChanges)
            {
                Commands.Add(command.CommandText);
            }
        }
    }
}
