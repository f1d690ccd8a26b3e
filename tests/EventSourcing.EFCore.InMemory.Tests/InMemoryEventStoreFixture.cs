using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.InMemory.Tests;

/// <summary>EF InMemory: a fresh named store per test; no transactions and no unique indexes (the library guards appends).</summary>
public sealed class InMemoryEventStoreFixture : EventStoreFixtureBase
{
    private string _databaseName = Guid.NewGuid().ToString();

    public override bool SupportsTransactions => false;

    public override bool EnforcesUniqueIndexes => false;

    public override Task ResetAsync()
    {
        _databaseName = Guid.NewGuid().ToString();
        return Task.CompletedTask;
    }

    public override void ConfigureProvider(DbContextOptionsBuilder builder) => builder.UseInMemoryDatabase(_databaseName);
}
