using Microsoft.EntityFrameworkCore.Migrations.Operations;

namespace EventSourcing.EFCore.PostgreSQL.Storage.Internal;

/// <summary>
/// Creates (or drops) the stream guard of an events table: what <c>migrationBuilder.CreateEventStreamGuard()</c> and
/// <c>DropEventStreamGuard()</c> add to a migration. <c>NpgsqlEventStoreMigrationsSqlGenerator</c> turns it into
/// the same SQL it writes for an events table's CreateTable.
/// </summary>
internal sealed class NpgsqlStreamGuardOperation : MigrationOperation
{
    public required string Table { get; init; }

    public string? Schema { get; init; }

    /// <summary>Gets a value indicating whether the guard is dropped rather than created (or replaced).</summary>
    public bool Drop { get; init; }
}
