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
