using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.FaultTests.Worker;

/// <summary>
/// The fault suite's DbContext: the event store, a user entity written by every unit of work (<see cref="Transfer"/>),
/// the inline read model (<see cref="AccountView"/>) and the catch-up projections' ledger (<see cref="ProjectedEvent"/>).
/// </summary>
public sealed class FaultDbContext(DbContextOptions<FaultDbContext> options) : DbContext(options)
{
    public DbSet<Transfer> Transfers => Set<Transfer>();

    public DbSet<AccountView> AccountViews => Set<AccountView>();

    public DbSet<ProjectedEvent> ProjectedEvents => Set<ProjectedEvent>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.IncludeEventStore();
        modelBuilder.Entity<Transfer>(b =>
        {
            b.ToTable("transfers");
            b.HasKey(t => t.Unit);
            b.Property(t => t.Unit).ValueGeneratedNever();
        });
        modelBuilder.Entity<AccountView>(b =>
        {
            b.ToTable("account_views");
            b.HasKey(a => a.Account);
        });
        modelBuilder.Entity<ProjectedEvent>(b =>
        {
            b.ToTable("projected_events");
            b.HasKey(p => p.Id);
            b.HasIndex(p => new { p.Projection, p.EventId }); // deliberately not unique: a double apply must stay countable
        });

        // snake_case columns for the suite's own tables, so the audit's plain SQL reads naturally
        foreach (var entity in modelBuilder.Model.GetEntityTypes().Where(e => e.ClrType.Assembly == typeof(FaultDbContext).Assembly))
        {
            foreach (var property in entity.GetProperties())
            {
                property.SetColumnName(string.Concat(property.Name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString())));
            }
        }
    }
}

/// <summary>The user's own row of a unit of work: exists exactly when the unit's events exist.</summary>
public sealed class Transfer
{
    public long Unit { get; set; }

    public string From { get; set; } = "";

    public string To { get; set; } = "";

    public decimal Amount { get; set; }
}

/// <summary>The inline read model: one account's event count, last version and balance, written in the events' save.</summary>
public sealed class AccountView
{
    public string Account { get; set; } = "";

    public long Version { get; set; }

    public int Events { get; set; }

    public decimal Balance { get; set; }
}

/// <summary>One event as a catch-up projection applied it (one row per apply, so duplicates are visible).</summary>
public sealed class ProjectedEvent
{
    public long Id { get; set; }

    public string Projection { get; set; } = "";

    public Guid EventId { get; set; }

    public string Stream { get; set; } = "";

    public long Version { get; set; }
}

/// <summary>The one event type: an account's balance moved by a unit of work.</summary>
[EventType("fault.moved")]
public sealed record Moved(string Account, long Unit, decimal Amount);

/// <summary>An event-sourced account: its state is the fold of its <see cref="Moved"/> events.</summary>
[AggregateType("account")]
public sealed class Account : AggregateRoot<string>
{
    private Account()
    {
    }

    public decimal Balance { get; private set; }

    public long LastUnit { get; private set; }

    public int Moves { get; private set; }

    public static Account Open(string id) => new() { Id = id };

    public void Move(long unit, decimal amount) => Raise(new Moved(Id, unit, amount));

    private void Apply(Moved e)
    {
        Id = e.Account;
        Balance += e.Amount;
        LastUnit = e.Unit;
        Moves++;
    }
}
