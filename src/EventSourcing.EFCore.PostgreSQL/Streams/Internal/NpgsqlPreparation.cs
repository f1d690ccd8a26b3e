using System.Collections.Concurrent;
using System.Data.Common;
using EventSourcing.EFCore.PostgreSQL.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace EventSourcing.EFCore.PostgreSQL.Streams.Internal;

/// <summary>
/// Whether the library prepares a fixed-text command explicitly: not when <c>UsePostgreSql(explicitPreparation: false)</c>
/// (PgBouncer in transaction pooling mode), and never on a multiplexing connection, where Npgsql refuses explicit
/// preparation ("Explicit preparation not supported with multiplexing").
/// </summary>
internal static class NpgsqlPreparation
{
    private static readonly ConcurrentDictionary<string, bool> Multiplexing = new(StringComparer.Ordinal);

    public static bool ShouldPrepare(DbContext? context, DbConnection connection)
        => connection is NpgsqlConnection npgsql
           && context?.GetService<IDbContextOptions>().FindExtension<NpgsqlEventSourcingOptionsExtension>() is not { ExplicitPreparation: false }
           && !IsMultiplexing(npgsql);

    private static bool IsMultiplexing(NpgsqlConnection connection)
        => Multiplexing.GetOrAdd(connection.ConnectionString, static s => new NpgsqlConnectionStringBuilder(s).Multiplexing);
}
