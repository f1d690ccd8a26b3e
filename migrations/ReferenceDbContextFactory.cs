using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace EventSourcing.EFCore.Reference;

/// <summary>
/// Creates <see cref="ReferenceDbContext"/> for <c>dotnet ef</c> (design time). It must configure event sourcing
/// exactly as the application does, <c>UseEventSourcing(es => es.UsePostgreSql())</c> included: that is what puts the
/// events table's PostgreSQL columns, indexes and stream guard into the migrations. <c>migrations add</c> and
/// <c>migrations script</c> do not connect; <c>database update</c> uses <c>EVENTSOURCING_MIGRATIONS_POSTGRES</c>.
/// </summary>
public sealed class ReferenceDbContextFactory : IDesignTimeDbContextFactory<ReferenceDbContext>
{
    public const string ConnectionStringVariable = "EVENTSOURCING_MIGRATIONS_POSTGRES";

    /// <summary>Set to 1 by eng/migrations.sh to generate the first migration: the application before the library.</summary>
    public const string BeforeEventStoreVariable = "EVENTSOURCING_REFERENCE_BEFORE_EVENT_STORE";

    public ReferenceDbContext CreateDbContext(string[] args)
    {
        var connectionString = Environment.GetEnvironmentVariable(ConnectionStringVariable)
            ?? "Host=localhost;Database=eventsourcing_reference;Username=postgres";
        if (Environment.GetEnvironmentVariable(BeforeEventStoreVariable) == "1")
        {
            ReferenceDbContext.BeforeEventStore = true;
            return new ReferenceDbContext(new DbContextOptionsBuilder<ReferenceDbContext>().UseNpgsql(connectionString).Options);
        }

        return new ReferenceDbContext(ReferenceDbContext.Configure(new DbContextOptionsBuilder<ReferenceDbContext>(), connectionString).Options);
    }
}
