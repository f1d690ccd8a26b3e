using EventSourcing.EFCore.Storage.Internal;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.PostgreSQL.Storage.Internal;

/// <summary>
/// The PostgreSQL-only parts of the events table: the xid8 transaction id column and its read-all index, and the
/// stream guard (a statement trigger) with the SQLSTATEs it raises.
/// </summary>
internal static class NpgsqlEventStoreSchema
{
    /// <summary>Marks the events table: the migrations SQL generator creates the stream guard with it.</summary>
    public const string StreamGuardAnnotation = "EventSourcing:StreamGuard";

    /// <summary>The transaction id column's default name (the model's name wins: see <see cref="TransactionIdColumnOf"/>).</summary>
    public const string TransactionIdColumn = "tx_id";

    /// <summary>Raised by the guard (as a check violation) for a row whose version is not positive.</summary>
    public const string CheckViolationSqlState = "23514";

    /// <summary>Raised by the guard when an append does not continue its stream (the expected version is ahead).</summary>
    public const string StreamGapSqlState = "ES409";

    /// <summary>Raised by the guard when a stream's previous event was committed by a later transaction; retryable.</summary>
    public const string SerializationFailureSqlState = "40001";

    public static string GuardName(string table) => table + "_stream_guard";

    /// <summary>The transaction id column as the model maps it (a user may rename it with <c>HasColumnName</c>).</summary>
    public static string TransactionIdColumnOf(EventStoreModel model)
        => model.Events.FindProperty(EventStoreModel.TransactionIdProperty)?.GetColumnName(StoreObjectIdentifier.Table(model.Table, model.Schema))
           ?? TransactionIdColumn;

    public static string ReadAllIndexName(string table) => "ix_" + table + "_tx_position";
}
