using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>The library's context: the event store in the user's own DbContext.</summary>
public sealed class LibraryDbContext(DbContextOptions<LibraryDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.IncludeEventStore();
}

/// <summary>
/// A naive EF Core mapping of the same table: an entity per event, EF's own SaveChanges (one INSERT … RETURNING per
/// row, batched), LINQ queries. The tx_id column is filled by its default.
/// </summary>
public sealed class NaiveDbContext(DbContextOptions<NaiveDbContext> options) : DbContext(options)
{
    public DbSet<NaiveEvent> Events => Set<NaiveEvent>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
        => modelBuilder.Entity<NaiveEvent>(e =>
        {
            e.ToTable("es_events");
            e.HasKey(x => x.GlobalPosition);
            e.Property(x => x.GlobalPosition).HasColumnName("global_position");
            e.Property(x => x.StreamType).HasColumnName("stream_type");
            e.Property(x => x.StreamId).HasColumnName("stream_id");
            e.Property(x => x.Sequence).HasColumnName("sequence");
            e.Property(x => x.EventId).HasColumnName("event_id").ValueGeneratedNever();
            e.Property(x => x.EventType).HasColumnName("event_type");
            e.Property(x => x.EventVersion).HasColumnName("event_version");
            e.Property(x => x.Payload).HasColumnName("payload").HasColumnType("jsonb");
            e.Property(x => x.Metadata).HasColumnName("metadata").HasColumnType("jsonb");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
        });
}

public sealed class NaiveEvent
{
    public long GlobalPosition { get; set; }

    public string StreamType { get; set; } = "";

    public string StreamId { get; set; } = "";

    public long Sequence { get; set; }

    public Guid EventId { get; set; }

    public string EventType { get; set; } = "";

    public int EventVersion { get; set; }

    public string Payload { get; set; } = "";

    public string? Metadata { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

[EventType("bench.deposited")]
public sealed record Deposited(Guid AccountId, decimal Amount, string Reference);

[EventType("bench.withdrawn")]
public sealed record Withdrawn(Guid AccountId, decimal Amount, string Reference);

/// <summary>The aggregate of scenario E.</summary>
[AggregateType("account")]
public sealed class Account : AggregateRoot<Guid>
{
    private Account()
    {
    }

    public decimal Balance { get; private set; }

    public long Operations { get; private set; }

    private void Apply(Deposited e)
    {
        Id = e.AccountId;
        Balance += e.Amount;
        Operations++;
    }

    private void Apply(Withdrawn e)
    {
        Id = e.AccountId;
        Balance -= e.Amount;
        Operations++;
    }
}

/// <summary>What the raw and naive variants fold a stream into: the same state as <see cref="Account"/>.</summary>
public sealed class AccountState
{
    public Guid Id { get; private set; }

    public decimal Balance { get; private set; }

    public long Operations { get; private set; }

    /// <summary>Starts from a snapshot's values (the raw variant of the snapshotted load).</summary>
    public void Restore(Guid id, decimal balance, long operations) => (Id, Balance, Operations) = (id, balance, operations);

    public void Apply(object e)
    {
        switch (e)
        {
            case Deposited d:
                Id = d.AccountId;
                Balance += d.Amount;
                break;
            case Withdrawn w:
                Id = w.AccountId;
                Balance -= w.Amount;
                break;
            default:
                throw new InvalidOperationException("No handler for " + e.GetType());
        }

        Operations++;
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Deposited))]
[JsonSerializable(typeof(Withdrawn))]
public sealed partial class BenchJsonContext : JsonSerializerContext;

/// <summary>The event types by stored name, and the one serializer configuration every variant shares.</summary>
public static class BenchEvents
{
    public const string DepositedName = "bench.deposited";
    public const string WithdrawnName = "bench.withdrawn";
    public const string StreamType = "account";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { TypeInfoResolver = BenchJsonContext.Default };

    public static object Create(Guid account, long n)
        => n % 4 == 3
            ? new Withdrawn(account, 1.25m, "W-" + n.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : new Deposited(account, 10.5m, "D-" + n.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static string NameOf(object e) => e is Deposited ? DepositedName : WithdrawnName;

    public static string Serialize(object e)
        => e is Deposited d ? JsonSerializer.Serialize(d, BenchJsonContext.Default.Deposited) : JsonSerializer.Serialize((Withdrawn)e, BenchJsonContext.Default.Withdrawn);

    public static object Deserialize(string name, string payload)
        => name switch
        {
            DepositedName => JsonSerializer.Deserialize(payload, BenchJsonContext.Default.Deposited)!,
            WithdrawnName => JsonSerializer.Deserialize(payload, BenchJsonContext.Default.Withdrawn)!,
            _ => throw new InvalidOperationException("Unknown event type " + name),
        };
}
