using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Infrastructure;

/// <summary>
/// Gives backend packages (such as EventSourcing.EFCore.PostgreSQL) access to the DbContext options builder behind an
/// <see cref="EventSourcingDbContextOptionsBuilder"/>, so that they can add their own options extension.
/// Not intended for application code.
/// </summary>
public interface IEventSourcingDbContextOptionsBuilderInfrastructure
{
    /// <summary>Gets the DbContext options builder being configured.</summary>
    DbContextOptionsBuilder OptionsBuilder { get; }
}
