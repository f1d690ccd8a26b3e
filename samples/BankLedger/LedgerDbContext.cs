using EventSourcing.EFCore;
using Microsoft.EntityFrameworkCore;

namespace BankLedger;

/// <summary>The application's own DbContext: the event store is one line in OnModelCreating.</summary>
public sealed class LedgerDbContext(DbContextOptions<LedgerDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.IncludeEventStore();
}

[EventType("account.opened")]
public sealed record AccountOpened(string Owner);

[EventType("account.deposited")]
public sealed record Deposited(decimal Amount, string Teller);

[EventType("account.withdrawn")]
public sealed record Withdrawn(decimal Amount, string Teller);
