using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: the dispatcher gives its connection back to the pool while the publisher runs, so a publisher that
/// uses the database through the same pool (an inbox table, a bridge to another database) finds a connection even in a
/// pool of one.
/// </summary>
public sealed class OutboxConnectionNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task A_publisher_using_the_same_pool_of_one_connection_publishes_every_message()
    {
        var stream = NewStream();
        Action<OutboxOptionsBuilder> policy = o => o.PublishAll("events").PublishTimeout(TimeSpan.FromSeconds(10)).MaxAttempts(1);
        await using (var seed = CreateContext(es => es.UseOutbox(policy)))
        {
            await seed.Events().AppendAsync(stream, ExpectedVersion.NoStream, Enumerable.Range(1, 3).Select(i => (object)new Deposited(i)).ToArray());
        }

        var pool = new NpgsqlConnectionStringBuilder(Fixture.ConnectionString) { MaxPoolSize = 1, Timeout = 3, ApplicationName = "outbox-pool-of-one" }.ConnectionString;
        var publisher = new DelegatePublisher(async (message, cancellationToken) =>
        {
            await using var connection = new NpgsqlConnection(pool);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
        });
        await using var db = CreateContext(es => es.UseOutbox(policy));
        db.Database.SetConnectionString(pool);
        Assert.That(await db.Outbox().DispatchPendingAsync(publisher), Is.EqualTo(3));
        var rows = await db.Set<StoredOutboxMessage>().AsNoTracking().Where(m => m.StreamId == stream.Id).ToListAsync();
        Assert.That(rows.Select(m => (m.DispatchedAt is not null, m.DeadLetteredAt is null, m.Attempts)), Is.All.EqualTo((true, true, 1)));
    }
}
