using System.Diagnostics;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: the <c>eventsourcing.read_all.horizon.age</c> gauge (docs/observability.md) reports the age of an open
/// transaction that wrote an event and holds read-all back while committed events wait behind it, grows while it stays
/// open, and drops to 0 once it ends (committed or rolled back).
/// </summary>
public sealed class ReadHorizonGaugeNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    private const string HorizonAge = "eventsourcing.read_all.horizon.age";
    private const string LagEvents = "eventsourcing.projection.lag.events";

    [Test]
    public async Task The_horizon_age_gauge_grows_while_a_writing_transaction_holds_read_all_back_and_drops_to_zero_when_it_ends([Values] bool commit)
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        using var capture = new TelemetryCapture();
        await using var observed = new TestDbContext(
            new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions(es => es.AddProjection<BalanceProjection>())).UseApplicationServiceProvider(capture.Services).Options);
        await SeedAsync(NewStream(), 1);
        Assert.That(await observed.Projections().CatchUpAsync("balances"), Is.EqualTo(1));
        Assert.That(capture.LastOf(HorizonAge, "balances").Value, Is.Zero, "nothing holds read-all back");

        // A slow writer: its transaction appended an event and stays open on its own connection.
        await using var holder = CreateContext();
        await using var transaction = await holder.Database.BeginTransactionAsync();
        holder.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(100));
        await holder.SaveChangesAsync();

        var waiting = random.Next(1, 20);
        for (var i = 0; i < waiting; i++)
        {
            await SeedAsync(NewStream(), 1); // committed after the holder's write: read-all waits for the holder
        }

        Assert.That(await observed.Projections().CatchUpAsync("balances"), Is.Zero, "the committed events wait behind the open transaction");
        var first = capture.LastOf(HorizonAge, "balances");
        Assert.Multiple(() =>
        {
            Assert.That(first.Value, Is.GreaterThan(0), "the holder's age");
            Assert.That(first.Tags, Is.EquivalentTo(new Dictionary<string, object?> { ["eventsourcing.projection.name"] = "balances" }));
            Assert.That(capture.Instrument(HorizonAge).Unit, Is.EqualTo("s"));
            Assert.That(capture.LastOf(LagEvents, "balances").Value, Is.EqualTo(waiting), "the committed events behind; the holder's own is not visible");
        });

        // The gauge grows while the transaction stays open (each catch-up batch reads it again).
        var deadline = Stopwatch.StartNew();
        var latest = first.Value;
        while (latest <= first.Value + 0.2 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
            Assert.That(await observed.Projections().CatchUpAsync("balances"), Is.Zero);
            latest = capture.LastOf(HorizonAge, "balances").Value;
        }

        Assert.That(latest, Is.GreaterThan(first.Value + 0.2), $"grew from {first.Value:0.###} s within {deadline.Elapsed}");

        if (commit)
        {
            await transaction.CommitAsync();
        }
        else
        {
            await transaction.RollbackAsync();
        }

        Assert.That(await observed.Projections().CatchUpAsync("balances"), Is.EqualTo(waiting + (commit ? 1 : 0)));
        Assert.Multiple(() =>
        {
            Assert.That(capture.LastOf(HorizonAge, "balances").Value, Is.Zero, "the holder ended");
            Assert.That(capture.LastOf(LagEvents, "balances").Value, Is.Zero);
        });
    }
}
