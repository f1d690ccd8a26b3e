using System.Globalization;
using EventSourcing.EFCore.Infrastructure;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Property: for random histories (random commands, saves, loads and on-demand snapshots, under several policies), an
/// aggregate loaded from its snapshot plus the tail has exactly the state of a full replay and of the same commands
/// applied in memory. Seeded: set EVENTSOURCING_SNAPSHOT_SEED to replay a run; a failure names its history's seed.
/// </summary>
public abstract class SnapshotPropertyTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private const int Histories = 1000;

    private static readonly (string Name, Action<EventSourcingDbContextOptionsBuilder>? Configure)[] Policies =
    [
        ("SnapshotEvery<Portfolio>(1)", es => es.SnapshotEvery<Portfolio>(1)),
        ("SnapshotEvery(3)", es => es.SnapshotEvery(3)),
        ("SnapshotEvery<Portfolio>(7)", es => es.SnapshotEvery<Portfolio>(7)),
        ("SnapshotWhen<Portfolio>(a Sold event)", es => es.SnapshotWhen<Portfolio>((_, events) => events.OfType<Sold>().Any())),
        ("no policy, random SnapshotAsync", null),
    ];

    [Test]
    public virtual async Task Snapshot_plus_tail_loads_equal_a_full_replay_for_1000_random_histories()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("EVENTSOURCING_SNAPSHOT_SEED"), CultureInfo.InvariantCulture, out var s) ? s : 20261123;
        await TestContext.Out.WriteLineAsync($"seed {seed} ({Histories} histories, history h uses seed {seed}+h)");
        var events = 0;
        for (var h = 0; h < Histories; h++)
        {
            if (h % 50 == 0)
            {
                await Fixture.ResetAsync(); // keeps EF InMemory's unindexed scans short
            }

            events += await RunHistoryAsync(seed + h, Policies[h % Policies.Length]);
        }

        await TestContext.Out.WriteLineAsync($"{Histories} histories, {events} events, all loads equal to the full replay");
    }

    private async Task<int> RunHistoryAsync(int seed, (string Name, Action<EventSourcingDbContextOptionsBuilder>? Configure) policy)
    {
        var random = new Random(seed);
        var bytes = new byte[16];
        random.NextBytes(bytes);
        var id = new Guid(bytes);
        var shadow = Portfolio.Open(id, "owner0"); // the same commands, applied in memory only
        var saves = random.Next(1, 6);
        var version = 0L;
        for (var save = 0; save < saves; save++)
        {
            await using var db = CreateContext(policy.Configure);
            Portfolio portfolio;
            if (save == 0)
            {
                portfolio = Portfolio.Open(id, "owner0");
                db.Aggregates<Portfolio>().Add(portfolio);
            }
            else
            {
                portfolio = await db.Aggregates<Portfolio>().LoadAsync(id);
                Assert.That(portfolio.Describe(), Is.EqualTo(Expected(shadow, version)), Context(seed, policy.Name, $"load before save {save + 1}"));
            }

            var commands = random.Next(1, 9);
            for (var c = 0; c < commands; c++)
            {
                Command(random).Invoke(portfolio, shadow);
            }

            await SaveAsync(db, async: random.Next(2) == 0);
            version = portfolio.Version;
            if (policy.Configure is null && random.Next(3) == 0)
            {
                await using var other = CreateContext();
                await other.Aggregates<Portfolio>().SnapshotAsync(id);
            }
        }

        await using (var db = CreateContext(policy.Configure))
        {
            var loaded = await db.Aggregates<Portfolio>().LoadAsync(id);
            var replayed = await db.Aggregates<Portfolio>().LoadAsOfAsync(id, DateTimeOffset.MaxValue); // never uses snapshots
            Assert.That(loaded.Describe(), Is.EqualTo(replayed.Describe()), Context(seed, policy.Name, "final load vs full replay"));
            Assert.That(loaded.Describe(), Is.EqualTo(Expected(shadow, version)), Context(seed, policy.Name, "final load vs in-memory state"));
        }

        return (int)version;
    }

    private static Action<Portfolio, Portfolio> Command(Random random)
    {
        var symbol = "S" + random.Next(4).ToString(CultureInfo.InvariantCulture);
        var quantity = random.Next(1, 50);
        var price = random.Next(1, 10_000) / 100m;
        return random.Next(10) switch
        {
            < 5 => (a, b) => { a.Buy(symbol, quantity, price); b.Buy(symbol, quantity, price); },
            < 9 => (a, b) => { a.Sell(symbol, quantity, price); b.Sell(symbol, quantity, price); },
            _ => (a, b) => { a.ChangeOwner(symbol + quantity); b.ChangeOwner(symbol + quantity); },
        };
    }

    private static string Expected(Portfolio shadow, long version) => shadow.Describe().Replace(";v=0;", $";v={version};", StringComparison.Ordinal);

    private static string Context(int seed, string policy, string step) => $"history seed {seed}, policy {policy}, {step}";
}
