using System.Globalization;
using System.Text.Json.Nodes;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Property: for random histories (random commands, saves, loads and on-demand snapshots, under several policies), an
/// aggregate loaded from its snapshot plus the tail has exactly the state of a full replay and of the same commands
/// applied in memory; and a load at any version, below, at or above a snapshot that is usable, stale (another
/// SnapshotVersion), unreadable JSON, the state of another stream, or absent, has the in-memory state at that version,
/// applies only the events after a usable snapshot, and logs an ignored one. Seeded: set EVENTSOURCING_SNAPSHOT_SEED to
/// replay a run; a failure names its history's seed.
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

    /// <summary>What a history does to its snapshot after taking it.</summary>
    private enum SnapshotVariant
    {
        Usable,
        OtherSnapshotVersion,
        UnreadableJson,
        OtherStreamsState,
        None,
    }

    [Test]
    public virtual async Task Loads_at_every_version_around_a_usable_stale_or_missing_snapshot_equal_the_in_memory_state_for_random_histories()
    {
        const int histories = 50;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("EVENTSOURCING_SNAPSHOT_SEED"), CultureInfo.InvariantCulture, out var s) ? s : 20261203;
        await TestContext.Out.WriteLineAsync($"seed {seed} ({histories} histories, history h uses seed {seed}+h)");
        var loads = 0;
        for (var h = 0; h < histories; h++)
        {
            loads += await RunPointInTimeHistoryAsync(seed + h, (SnapshotVariant)(h % 5));
        }

        await TestContext.Out.WriteLineAsync($"{histories} histories, {loads} loads, each equal to the in-memory state at its version");
    }

    private async Task<int> RunPointInTimeHistoryAsync(int seed, SnapshotVariant variant)
    {
        var random = new Random(seed);
        var id = Guid.NewGuid();
        var shadow = Portfolio.Open(id, "owner0");
        var states = new List<string> { "", shadow.Describe() }; // states[v]: the in-memory state after event v
        var version = await SaveCommandsAsync(id, shadow, states, random, random.Next(1, 10), isNew: true);
        var snapshotAt = 0L;
        if (variant != SnapshotVariant.None)
        {
            await using (var db = CreateContext())
            {
                snapshotAt = await db.Aggregates<Portfolio>().SnapshotAsync(id);
            }

            Assert.That(snapshotAt, Is.EqualTo(version));
        }

        version = await SaveCommandsAsync(id, shadow, states, random, random.Next(0, 10), isNew: false);
        await SpoilSnapshotAsync(id, variant); // after the saves: a load that ignores a snapshot has the next save rewrite it
        var usable = variant == SnapshotVariant.Usable;
        var stale = variant is not (SnapshotVariant.Usable or SnapshotVariant.None);
        var context = $"history seed {seed}, snapshot {variant} at {snapshotAt}, stream at {version}";
        var log = new List<(EventId Id, string Message)>();
        for (var at = 1L; at <= version; at++)
        {
            log.Clear();
            await using var db = CreateLoggingContext(log);
            var loaded = await db.Aggregates<Portfolio>().LoadAsync(id, atVersion: at);
            var covered = snapshotAt != 0 && snapshotAt <= at;
            Assert.That(loaded.Describe(), Is.EqualTo(Expected(states[(int)at], at)), $"{context}: load at {at}");
            Assert.That(loaded.AppliedSinceLoad, Is.EqualTo(usable && covered ? at - snapshotAt : at), $"{context}: events applied at {at}");
            Assert.That(log.Count(l => l.Id == EventSourcingEventId.SnapshotIgnored), Is.EqualTo(stale && covered ? 1 : 0), $"{context}: ignored snapshot logged at {at}");
        }

        await using (var db = CreateLoggingContext(log))
        {
            log.Clear();
            var loaded = await db.Aggregates<Portfolio>().LoadAsync(id);
            Assert.That(loaded.Describe(), Is.EqualTo(Expected(states[(int)version], version)), $"{context}: load of the whole stream");
            Assert.That(loaded.AppliedSinceLoad, Is.EqualTo(usable ? version - snapshotAt : version), $"{context}: events applied by the whole load");
            Assert.ThrowsAsync<AggregateNotFoundException>(() => db.Aggregates<Portfolio>().LoadAsync(id, atVersion: version + 1), context);
        }

        return (int)version + 1;
    }

    /// <summary>Runs <paramref name="count"/> random commands on the stored aggregate and on the shadow, in one or two saves; returns the version.</summary>
    private async Task<long> SaveCommandsAsync(Guid id, Portfolio shadow, List<string> states, Random random, int count, bool isNew)
    {
        var firstSave = random.Next(0, count + 1);
        foreach (var commands in new[] { firstSave, count - firstSave })
        {
            if (commands == 0 && !isNew)
            {
                continue;
            }

            await using var db = CreateContext();
            Portfolio portfolio;
            if (isNew)
            {
                portfolio = Portfolio.Open(id, "owner0");
                db.Aggregates<Portfolio>().Add(portfolio);
                isNew = false;
            }
            else
            {
                portfolio = await db.Aggregates<Portfolio>().LoadAsync(id);
            }

            for (var c = 0; c < commands; c++)
            {
                Command(random).Invoke(portfolio, shadow);
                states.Add(shadow.Describe());
            }

            await SaveAsync(db, async: random.Next(2) == 0);
            Assert.That(portfolio.Version, Is.EqualTo(states.Count - 1));
        }

        return states.Count - 1;
    }

    private async Task SpoilSnapshotAsync(Guid id, SnapshotVariant variant)
    {
        if (variant is SnapshotVariant.Usable or SnapshotVariant.None)
        {
            return;
        }

        await using var db = CreateContext();
        var row = await db.Set<StoredSnapshot>().SingleAsync(s => s.StreamType == "portfolio" && s.StreamId == id.ToString());
        switch (variant)
        {
            case SnapshotVariant.OtherSnapshotVersion:
                row.SchemaVersion++;
                break;
            case SnapshotVariant.UnreadableJson:
                row.State = """{"Id":"not a guid","_cash":"abc"}""";
                break;
            case SnapshotVariant.OtherStreamsState:
                var state = JsonNode.Parse(row.State)!;
                state["Id"] = Guid.NewGuid();
                row.State = state.ToJsonString();
                break;
        }

        await db.SaveChangesAsync();
    }

    private TestDbContext CreateLoggingContext(List<(EventId Id, string Message)> log)
    {
        var builder = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions());
        builder.UseLoggerFactory(new CapturingLoggerFactory(log));
        return new TestDbContext(builder.Options);
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

    private static string Expected(Portfolio shadow, long version) => Expected(shadow.Describe(), version);

    private static string Expected(string shadowState, long version) => shadowState.Replace(";v=0;", $";v={version};", StringComparison.Ordinal);

    private static string Context(int seed, string policy, string step) => $"history seed {seed}, policy {policy}, {step}";
}
