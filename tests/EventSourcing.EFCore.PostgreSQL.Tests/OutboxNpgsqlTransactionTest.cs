using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// The outbox on PostgreSQL with transactions: rows commit or roll back with the user's transaction, only committed
/// rows are dispatched, and a publisher that fails after the broker accepted leads to a re-publish (at least once:
/// duplicates, never a loss; killed dispatcher processes are in <see cref="OutboxLeaseNpgsqlTest"/>). The pending-row
/// indexes are partial.
/// </summary>
public sealed class OutboxNpgsqlTransactionTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    private TestDbContext CreateOutboxContext() => CreateContext(es => es.UseOutbox(o => o.PublishAll("events").RetryBackoff(TimeSpan.Zero, TimeSpan.Zero)));

    private async Task<int> DispatchAsync(IOutboxPublisher publisher)
    {
        await using var db = CreateOutboxContext();
        return await db.Outbox().DispatchPendingAsync(publisher);
    }

    private async Task SeedAsync(StreamId stream, int count)
    {
        await using var db = CreateOutboxContext();
        await db.Events().AppendAsync(stream, ExpectedVersion.Any, Enumerable.Range(1, count).Select(i => (object)new Deposited(i)).ToArray());
    }

    private static IEnumerable<string> Versions(RecordingPublisher publisher) => publisher.Published.Select(m => m.Headers[OutboxHeaders.Version]);

    [Test]
    public async Task Nothing_is_published_from_a_rolled_back_user_transaction([Values] bool async)
    {
        await using (var db = CreateOutboxContext())
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            db.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(1));
            if (async)
            {
                await db.SaveChangesAsync();
            }
            else
            {
                db.SaveChanges();
            }

            await transaction.RollbackAsync();
        }

        var publisher = new RecordingPublisher();
        Assert.That(await DispatchAsync(publisher), Is.Zero);
        Assert.That(publisher.Calls, Is.Zero);
        await using var check = CreateContext();
        Assert.That(await check.Set<StoredOutboxMessage>().CountAsync(), Is.Zero);
    }

    [Test]
    public async Task A_message_is_dispatched_only_once_its_transaction_commits()
    {
        var publisher = new RecordingPublisher();
        await using (var db = CreateOutboxContext())
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            db.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(1));
            await db.SaveChangesAsync();
            Assert.That(await DispatchAsync(publisher), Is.Zero, "not committed yet");
            await transaction.CommitAsync();
        }

        Assert.That(await DispatchAsync(publisher), Is.EqualTo(1));
    }

    [Test]
    public async Task A_unique_violation_of_a_user_entity_writes_no_message_and_the_retry_writes_each_once()
    {
        var email = Guid.NewGuid() + "@example.com";
        await using (var seed = CreateContext())
        {
            seed.Customers.Add(new Customer { Name = "first", Email = email });
            await seed.SaveChangesAsync();
        }

        var stream = NewStream();
        await using (var db = CreateOutboxContext())
        {
            var duplicate = new Customer { Name = "second", Email = email };
            db.Customers.Add(duplicate);
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
            duplicate.Email = Guid.NewGuid() + "@example.com";
            await db.SaveChangesAsync();
        }

        var publisher = new RecordingPublisher();
        Assert.That(await DispatchAsync(publisher), Is.EqualTo(2));
        Assert.That(Versions(publisher), Is.EqualTo(new[] { "1", "2" }));
    }

    [Test]
    public async Task A_publisher_that_fails_after_the_broker_accepted_leads_to_a_republish_not_a_loss()
    {
        var stream = NewStream();
        await SeedAsync(stream, 5);
        var failed = 0;
        var publisher = new RecordingPublisher
        {
            // The broker took the message, then the dispatcher "died" before marking it: simulated by throwing after recording.
            AfterRecord = m =>
            {
                if (m.Headers[OutboxHeaders.Version] == "3" && Interlocked.Increment(ref failed) == 1)
                {
                    throw new IOException("lost the acknowledgement");
                }
            },
        };

        Assert.That(await DispatchAsync(publisher), Is.EqualTo(5), "version 3 counts once, on the attempt that was marked");
        Assert.That(Versions(publisher), Is.EqualTo(new[] { "1", "2", "3", "3", "4", "5" }));
        Assert.That(publisher.Published.Where(m => m.Headers[OutboxHeaders.Version] == "3").Select(m => m.Attempt), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(publisher.Published.Select(m => m.MessageId).Distinct().Count(), Is.EqualTo(5), "same message id on the republish");
    }

    [Test]
    public async Task The_pending_row_indexes_are_partial()
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'es_outbox'", connection);
        var definitions = new Dictionary<string, string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                definitions[reader.GetString(0)] = reader.GetString(1);
            }
        }

        Assert.That(definitions["ix_es_outbox_pending"], Does.Contain("WHERE ((dispatched_at IS NULL) AND (dead_lettered_at IS NULL))"));
        Assert.That(definitions["ix_es_outbox_pending_stream"], Does.Contain("WHERE ((dispatched_at IS NULL) AND (dead_lettered_at IS NULL))"));
        Assert.That(definitions["ix_es_outbox_dead_letters"], Does.Contain("WHERE (dead_lettered_at IS NOT NULL)"));
    }
}
