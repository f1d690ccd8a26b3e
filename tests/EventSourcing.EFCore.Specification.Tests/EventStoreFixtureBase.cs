using EventSourcing.EFCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// What a provider gives the specification suites: contexts on a store that is reset before each test, and flags for
/// what the provider can do (tests gate on them with Assume, like EF's own specification tests).
/// </summary>
public abstract class EventStoreFixtureBase
{
    /// <summary>Gets a value indicating whether user transactions (BeginTransaction, rollback) really work.</summary>
    public abstract bool SupportsTransactions { get; }

    /// <summary>Gets a value indicating whether the database itself enforces unique indexes.</summary>
    public abstract bool EnforcesUniqueIndexes { get; }

    /// <summary>Gets a value indicating whether several contexts may write at the same time.</summary>
    public virtual bool SupportsConcurrentWriters => true;

    /// <summary>Prepares the store once per suite.</summary>
    public virtual Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Empties the store before each test.</summary>
    public abstract Task ResetAsync();

    /// <summary>Releases what <see cref="InitializeAsync"/> made.</summary>
    public virtual Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Creates a context on the current store, with the test event types registered.</summary>
    public TestDbContext CreateContext(Action<EventSourcingDbContextOptionsBuilder>? configure = null)
        => new(CreateOptions(configure));

    /// <summary>Creates options for contexts on the current store (for pooled factories and the like).</summary>
    public DbContextOptions<TestDbContext> CreateOptions(Action<EventSourcingDbContextOptionsBuilder>? configure = null)
    {
        var builder = new DbContextOptionsBuilder<TestDbContext>();
        ConfigureProvider(builder);
        builder.UseEventSourcing(es =>
        {
            es.AddEvents(typeof(TestDbContext).Assembly);
            ConfigureEventSourcing(es);
            configure?.Invoke(es);
        });
        return builder.Options;
    }

    /// <summary>Configures the database provider (UseNpgsql, UseInMemoryDatabase …).</summary>
    public abstract void ConfigureProvider(DbContextOptionsBuilder builder);

    /// <summary>Configures the provider's event sourcing backend (UsePostgreSql() …).</summary>
    protected virtual void ConfigureEventSourcing(EventSourcingDbContextOptionsBuilder builder)
    {
    }
}
