using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: inside a user transaction, an append to a stream that another transaction extended after this one
/// began is refused by the stream guard with 40001 (commit order would contradict stream order). It is a
/// <see cref="StreamConcurrencyException"/> (a <see cref="DbUpdateException"/>), transient by its inner error, and its
/// message says which case it is.
/// </summary>
public sealed class GuardSerializationNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task An_append_after_a_later_committed_predecessor_is_a_transient_StreamConcurrencyException([Values] bool async)
    {
        var stream = NewStream();
        await using var loser = CreateContext();
        await using var transaction = await loser.Database.BeginTransactionAsync();
        loser.Customers.Add(new Customer { Name = "first write", Email = Guid.NewGuid() + "@example.com" });
        await SaveAsync(loser, async); // the transaction has its id now

        await using (var winner = CreateContext())
        {
            winner.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1));
            await SaveAsync(winner, async);
        }

        loser.Events().Append(stream, ExpectedVersion.Exactly(1), new Deposited(2));
        DbUpdateException? caught = null;
        try
        {
            await SaveAsync(loser, async);
        }
        catch (DbUpdateException ex)
        {
            caught = ex;
        }

        Assert.That(caught, Is.TypeOf<StreamConcurrencyException>());
        var conflict = (StreamConcurrencyException)caught!;
        Assert.That(conflict.StreamId, Is.EqualTo(stream));
        Assert.That(conflict.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(1)));
        Assert.That(conflict.ActualVersion, Is.EqualTo(1));
        Assert.That(conflict.Message, Does.Contain("committed after this one began"));
        Assert.That(conflict.InnerException?.InnerException, Is.InstanceOf<PostgresException>().With.Property(nameof(PostgresException.SqlState)).EqualTo("40001"));
        Assert.That(((PostgresException)conflict.InnerException!.InnerException!).IsTransient, Is.True, "retrying execution strategies retry it");
        await transaction.RollbackAsync();
        Assert.That((await ReadStreamAsync(stream)).Select(e => e.Data), Is.EqualTo(new object[] { new Deposited(1) }));
    }

    [Test]
    public async Task An_expected_version_ahead_of_the_stream_says_so([Values] bool async)
    {
        var stream = NewStream();
        await SeedAsync(stream, 1);
        await using var db = CreateContext();
        db.Events().Append(stream, ExpectedVersion.Exactly(3), new Deposited(2));
        var conflict = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
        Assert.That(conflict!.ActualVersion, Is.EqualTo(1));
        Assert.That(conflict.Message, Does.Contain("ahead of the stream"));
    }
}
