using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;

namespace EventSourcing.EFCore.PostgreSQL.ProviderInternals;

/// <summary>
/// Reads Npgsql's options extension (<c>NpgsqlOptionsExtension</c>, an EF1001 internal API): it is the only way to tell
/// that the context's provider is Npgsql, and it carries the <c>MaxBatchSize</c> that Npgsql's own batch factory uses,
/// which our batch factory must honour the same way. Guarded by <c>ProviderInternalsNpgsqlTest</c>.
/// </summary>
internal static class NpgsqlProviderOptions
{
    public const int DefaultMaxBatchSize = 1000;

#pragma warning disable EF1001 // see the class summary
    /// <summary>Returns true when the options configure the Npgsql provider (<c>UseNpgsql</c>).</summary>
    public static bool IsNpgsql(IDbContextOptions options) => options.FindExtension<NpgsqlOptionsExtension>() is not null;

    /// <summary>Gets the maximum number of statements per batch that <c>UseNpgsql(o => o.MaxBatchSize(n))</c> set, or Npgsql's default.</summary>
    public static int MaxBatchSize(IDbContextOptions options) => options.FindExtension<NpgsqlOptionsExtension>()?.MaxBatchSize ?? DefaultMaxBatchSize;
#pragma warning restore EF1001
}
