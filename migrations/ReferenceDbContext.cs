using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Reference;

/// <summary>
/// An application's own DbContext after adopting the library: one ordinary entity, plus the event store through
/// <c>IncludeEventStore()</c>. Its migrations (folder Migrations) were made by <c>dotnet ef migrations add</c>:
/// <c>InitialCreate</c> is the application before it adopted the library, <c>AddEventStore</c> is what adopting it adds.
/// </summary>
public sealed class ReferenceDbContext(DbContextOptions<ReferenceDbContext> options) : DbContext(options)
{
    /// <summary>
    /// Gets or sets a value indicating whether the model is the application's before it adopted the library (no event
    /// store). Set only by the design-time factory, for eng/migrations.sh to generate <c>InitialCreate</c>.
    /// </summary>
    internal static bool BeforeEventStore { get; set; }

    public DbSet<OrderSummary> OrderSummaries => Set<OrderSummary>();

    /// <summary>
    /// Configures <paramref name="builder"/> the way the application does at run time and at design time: Npgsql, with
    /// event sourcing on its PostgreSQL backend (the part that gives the events table its xid8 column and stream guard).
    /// </summary>
    public static DbContextOptionsBuilder<ReferenceDbContext> Configure(DbContextOptionsBuilder<ReferenceDbContext> builder, string connectionString)
        => builder
            .UseNpgsql(connectionString)
            .UseEventSourcing(es => es.UsePostgreSql());

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        if (!BeforeEventStore)
        {
            modelBuilder.IncludeEventStore();
        }

        modelBuilder.Entity<OrderSummary>(b =>
        {
            b.ToTable("order_summaries");
            b.HasKey(o => o.Id);
            b.Property(o => o.Customer).HasMaxLength(200);
            b.Property(o => o.Total).HasPrecision(18, 2);
        });
    }
}

/// <summary>An ordinary entity of the application (a read model kept next to the events).</summary>
public sealed class OrderSummary
{
    public Guid Id { get; set; }

    public string Customer { get; set; } = "";

    public decimal Total { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
