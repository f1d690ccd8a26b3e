using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// The base of every specification suite: one fixture per suite, the store reset before each test, a fresh stream id
/// per call, and the sync/async SaveChanges switch.
/// </summary>
public abstract class EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    protected TFixture Fixture { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task CreateFixtureAsync()
    {
        Fixture = new TFixture();
        await Fixture.InitializeAsync();
    }

    [OneTimeTearDown]
    public Task DisposeFixtureAsync() => Fixture.DisposeAsync();

    [SetUp]
    public Task ResetStoreAsync() => Fixture.ResetAsync();

    protected TestDbContext CreateContext(Action<Infrastructure.EventSourcingDbContextOptionsBuilder>? configure = null)
        => Fixture.CreateContext(configure);

    protected static StreamId NewStream(string type = "account") => new(type, Guid.NewGuid().ToString("N"));

    /// <summary>Saves through the sync or the async SaveChanges path.</summary>
    protected static async Task<int> SaveAsync(TestDbContext db, bool async)
        => async ? await db.SaveChangesAsync() : db.SaveChanges();

    /// <summary>Reads a whole stream in a fresh context.</summary>
    protected async Task<List<RecordedEvent>> ReadStreamAsync(StreamId stream)
    {
        await using var db = CreateContext();
        return await ToListAsync(db.Events().ReadStreamAsync(stream));
    }

    /// <summary>Reads every event of the store in a fresh context.</summary>
    protected async Task<List<RecordedEvent>> ReadAllAsync(GlobalCheckpoint from = default)
    {
        await using var db = CreateContext();
        return await ToListAsync(db.Events().ReadAllAsync(from));
    }

    protected static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }

    /// <summary>Appends <paramref name="count"/> Deposited events in a fresh context and returns their ids.</summary>
    protected async Task<Guid[]> SeedAsync(StreamId stream, int count, ExpectedVersion? expected = null)
    {
        await using var db = CreateContext();
        var events = Enumerable.Range(1, count).Select(i => new EventData(new Deposited(i)) { EventId = Guid.CreateVersion7() }).ToArray();
        await db.Events().AppendAsync(stream, expected ?? ExpectedVersion.Any, events);
        return events.Select(e => e.EventId!.Value).ToArray();
    }
}
