using System.Data.Common;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace EventSourcing.EFCore.PostgreSQL.Streams.Internal;

/// <summary>
/// Prepares the library's fixed-text commands (those tagged <see cref="CompiledEventQueries.PreparableTag"/>: a save that
/// only appends events, the aggregate replay query) on first use per physical connection; Npgsql keeps them across
/// pooled opens. The server then skips parse and plan, and because the connection holds prepared statements Npgsql
/// resets it without DISCARD ALL, which would also throw away the stream guard trigger's cached plan.
/// </summary>
internal sealed class NpgsqlPreparingInterceptor : DbCommandInterceptor, IEventSourcingInterceptor
{
    private const string Tag = "-- " + CompiledEventQueries.PreparableTag;

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        if (IsPreparable(command, eventData))
        {
            command.Prepare();
        }

        return result;
    }

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        if (IsPreparable(command, eventData))
        {
            await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    private static bool IsPreparable(DbCommand command, CommandEventData eventData)
        => command is NpgsqlCommand { IsPrepared: false }
           && command.CommandText.StartsWith(Tag, StringComparison.Ordinal)
           && NpgsqlPreparation.ShouldPrepare(eventData.Context, command.Connection!);
}
