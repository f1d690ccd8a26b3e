using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Tests;

// Event types of the unit tests. Only consistent [EventType] attributes live here, because AddEvents scans this
// assembly; clashes are made with MapEvent (and never in the Specification project, which every suite scans).

[EventType("unit.placed")]
public sealed record UnitPlaced(Guid OrderId);

[EventType("unit.shipped", Version = 3)]
public sealed record UnitShipped(Guid OrderId);

/// <summary>An attributed, non-sealed event type: its subclasses do not inherit the registration.</summary>
[EventType("unit.base")]
public record UnitBase(int Value);

public sealed record UnitDerived(int Value) : UnitBase(Value);

/// <summary>No attribute: not an event unless mapped.</summary>
public sealed record Unattributed(int Value);

public sealed record ClashA(int Value);

public sealed record ClashB(int Value);

public abstract record AbstractEvent;

public interface IEventContract;

public sealed record GenericEvent<T>(T Value);

/// <summary>A context for option tests on EF InMemory.</summary>
public sealed class UnitDbContext(DbContextOptions<UnitDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.IncludeEventStore();
}
