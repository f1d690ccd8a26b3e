using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>The DbContext every specification suite runs against: the event store plus one ordinary entity.</summary>
public sealed class TestDbContext(DbContextOptions<TestDbContext> options) : DbContext(options)
{
    public DbSet<Customer> Customers => Set<Customer>();

    public DbSet<Ticket> Tickets => Set<Ticket>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.IncludeEventStore();
        modelBuilder.Entity<Customer>(b =>
        {
            b.ToTable("customers");
            b.HasKey(c => c.Id);
            b.HasIndex(c => c.Email).IsUnique();
        });
        modelBuilder.Entity<Ticket>(b =>
        {
            b.ToTable("tickets");
            b.HasKey(t => t.Id);
            b.Property(t => t.Version).HasField("_version");
            b.Ignore(t => t.PendingEvents);
            b.Ignore(t => t.StreamId);
            b.Ignore(t => t.IsReadOnly);
        });
        modelBuilder.Entity<AccountBalance>(b =>
        {
            b.ToTable("account_balances");
            b.HasKey(a => new { a.Projection, a.Stream });
        });
        modelBuilder.Entity<LedgerRow>(b =>
        {
            b.ToTable("projection_ledger");
            b.HasKey(r => r.Id);
            b.HasIndex(r => new { r.Projection, r.Stream, r.Version }); // deliberately not unique: duplicates must be countable
        });
        modelBuilder.Entity<StreamProgress>(b =>
        {
            b.ToTable("projection_stream_progress");
            b.HasKey(p => new { p.Projection, p.Stream });
        });
    }
}

/// <summary>A user entity saved alongside events, to prove they commit (and roll back) together.</summary>
public sealed class Customer
{
    public Guid Id { get; set; } = Guid.NewGuid();

    public string Name { get; set; } = "";

    public string Email { get; set; } = "";
}

[EventType("test.deposited")]
public sealed record Deposited(decimal Amount);

[EventType("test.withdrawn", Version = 2)]
public sealed record Withdrawn(decimal Amount, string Reason);

[EventType("test.renamed")]
public sealed record Renamed(string Name);

[EventType("test.blob")]
public sealed record Blob(string Text);

/// <summary>An event type that is deliberately not registered.</summary>
public sealed record NotRegistered(int Value);

/// <summary>A read model row: one stream's balance as one projection sees it.</summary>
public sealed class AccountBalance
{
    public string Projection { get; set; } = "";

    public string Stream { get; set; } = "";

    public decimal Balance { get; set; }

    /// <summary>The version of the last event applied.</summary>
    public long Version { get; set; }

    public int Operations { get; set; }
}

/// <summary>One applied event, as recorded by <see cref="LedgerProjection"/>: duplicates stay visible (no unique index).</summary>
public sealed class LedgerRow
{
    public long Id { get; set; }

    public string Projection { get; set; } = "";

    public string Stream { get; set; } = "";

    public long Version { get; set; }

    public Guid EventId { get; set; }

    public long GlobalPosition { get; set; }
}

/// <summary>The last version a projection applied per stream, and how often an event arrived out of stream order.</summary>
public sealed class StreamProgress
{
    public string Projection { get; set; } = "";

    public string Stream { get; set; } = "";

    public long Version { get; set; }

    public int OrderViolations { get; set; }
}
