using EventSourcing.EFCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace BankLedger;

/// <summary>The application's own DbContext: its read model, plus the event store (one line in OnModelCreating).</summary>
public sealed class LedgerDbContext(DbContextOptions<LedgerDbContext> options) : DbContext(options)
{
    public DbSet<AccountBalance> Balances => Set<AccountBalance>();

    /// <summary>Configures the library as the demo uses it: event types, snapshots, the outbox, the balances projection.</summary>
    public static void ConfigureEventSourcing(EventSourcing.EFCore.Infrastructure.EventSourcingDbContextOptionsBuilder es) => es
        .AddEvents(typeof(AccountOpened).Assembly)
        .SnapshotEvery<Account>(20)
        .UseOutbox(o => o.PublishAll("ledger"))
        .AddProjection<AccountBalances>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.IncludeEventStore();
        modelBuilder.Entity<AccountBalance>(e =>
        {
            e.ToTable("account_balances");
            e.HasKey(x => x.AccountId);
            e.Property(x => x.AccountId).HasMaxLength(256);
            e.Property(x => x.Owner).HasMaxLength(200);
        });
    }
}

/// <summary>A row of the balances read model, kept by the <see cref="AccountBalances"/> projection.</summary>
public sealed class AccountBalance
{
    public string AccountId { get; set; } = "";

    public string Owner { get; set; } = "";

    public decimal Balance { get; set; }

    public long Version { get; set; }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the context (no database is needed for that).</summary>
public sealed class LedgerDbContextFactory : IDesignTimeDbContextFactory<LedgerDbContext>
{
    public LedgerDbContext CreateDbContext(string[] args)
        => new(new DbContextOptionsBuilder<LedgerDbContext>()
            .UseNpgsql("Host=localhost;Database=bank_ledger")
            .UseEventSourcing(es => LedgerDbContext.ConfigureEventSourcing(es.UsePostgreSql()))
            .Options);
}
