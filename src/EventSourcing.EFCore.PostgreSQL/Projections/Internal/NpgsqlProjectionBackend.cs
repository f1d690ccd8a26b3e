using System.Data;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.PostgreSQL.Streams.Internal;
using EventSourcing.EFCore.Projections.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace EventSourcing.EFCore.PostgreSQL.Projections.Internal;

/// <summary>
/// The PostgreSQL projection backend: a batch runs in a transaction (the caller's, or a new one under the execution
/// strategy) that locks the checkpoint row (<c>SELECT … FOR UPDATE</c>) before any read-model change, so of two runners
/// of one projection the second waits, sees the moved checkpoint, discards its batch and reads again (no deadlock, no
/// double apply).
/// </summary>
internal sealed class NpgsqlProjectionBackend : IProjectionBackend
{
    private const string LockSqlAnnotation = "EventSourcing:Npgsql:CheckpointLockSql";

    public async Task<T> RunExclusiveAsync<T>(
        DbContext context, Projection projection, Func<DbContext, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        await ProjectionCheckpoints.EnsureAsync(context, projection.Name, cancellationToken).ConfigureAwait(false);
        if (context.Database.CurrentTransaction is not null)
        {
            // The caller's transaction: the row lock lasts until the caller commits.
            return await work(context, cancellationToken).ConfigureAwait(false);
        }

        return await context.Database.CreateExecutionStrategy().ExecuteAsync(
            work,
            static async (db, work, ct) =>
            {
                var transaction = await db.Database.BeginTransactionAsync(ct).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    var result = await work(db, ct).ConfigureAwait(false);
                    await transaction.CommitAsync(ct).ConfigureAwait(false);
                    return result;
                }
            },
            verifySucceeded: null,
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<ProjectionCheckpoint> LoadCheckpointForUpdateAsync(DbContext context, string projection, CancellationToken cancellationToken)
    {
        var rows = await context.Set<ProjectionCheckpoint>()
            .FromSqlRaw(LockSql(context), projection)
            .AsTracking()
            .ToListAsync(cancellationToken)
            .ConfigureAwait(false);
        return rows.Single();
    }

    /// <summary>Returns <c>SELECT * FROM checkpoints WHERE projection = {0} FOR UPDATE</c> for the model's table names.</summary>
    private static string LockSql(DbContext context)
        => context.Model.GetOrAddRuntimeAnnotationValue(
            LockSqlAnnotation,
            static state =>
            {
                var (model, helper) = state;
                var entity = model.FindEntityType(typeof(ProjectionCheckpoint)) ?? throw new InvalidOperationException(Messages.EventStoreNotInModel);
                var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
                var key = entity.FindProperty(nameof(ProjectionCheckpoint.Projection))!.GetColumnName(table)!;
                return $"SELECT * FROM {helper.DelimitIdentifier(table.Name, table.Schema)} WHERE {helper.DelimitIdentifier(key)} = {{0}} FOR UPDATE";
            },
            (context.Model, context.GetService<ISqlGenerationHelper>()));

    public async Task<ProjectionPage> ReadPageAsync(
        DbContext context, EventStoreModel model, GlobalCheckpoint after, IReadOnlyList<string> eventTypes, int batchSize, CancellationToken cancellationToken)
    {
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = (NpgsqlConnection)database.GetDbConnection();
            var transaction = (NpgsqlTransaction?)database.CurrentTransaction?.GetDbTransaction();
            GlobalCheckpoint end;
            var endCommand = new NpgsqlCommand(NpgsqlProjectionPageSql.End(context, model), connection, transaction);
            await using (endCommand.ConfigureAwait(false))
            {
                endCommand.Parameters.Add(new NpgsqlParameter<ulong>("tx", NpgsqlDbType.Xid8) { TypedValue = after.TransactionId });
                endCommand.Parameters.Add(new NpgsqlParameter<long>("position", after.Position));
                var reader = await endCommand.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        return new ProjectionPage([], after, Full: false);
                    }

                    end = new GlobalCheckpoint(reader.GetFieldValue<ulong>(0), reader.GetInt64(1));
                }
            }

            var rows = new List<EventRow>(Math.Min(batchSize, 4096));
            var command = new NpgsqlCommand(NpgsqlProjectionPageSql.Page(context, model), connection, transaction);
            await using (command.ConfigureAwait(false))
            {
                command.Parameters.Add(new NpgsqlParameter<ulong>("tx", NpgsqlDbType.Xid8) { TypedValue = after.TransactionId });
                command.Parameters.Add(new NpgsqlParameter<long>("position", after.Position));
                command.Parameters.Add(new NpgsqlParameter<ulong>("end_tx", NpgsqlDbType.Xid8) { TypedValue = end.TransactionId });
                command.Parameters.Add(new NpgsqlParameter<long>("end_position", end.Position));
                command.Parameters.Add(new NpgsqlParameter<string[]>("types", [.. eventTypes]));
                command.Parameters.Add(new NpgsqlParameter<int>("limit", batchSize));
                var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        rows.Add(NpgsqlEventStoreBackend.ReadRow(reader));
                    }
                }
            }

            var full = rows.Count == batchSize;
            return new ProjectionPage(rows, full ? rows[^1].Checkpoint : end, full);
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Checks the checkpoint's and the events' highest transaction id against <c>pg_snapshot_xmax</c> (after a restore
    /// into a cluster whose counter is lower, they are above it; one index lookup; assigns no transaction id), and the
    /// cluster that wrote the checkpoint against this one. Returns this cluster's system identifier.
    /// </summary>
    public async Task<long?> VerifyTransactionIdsAsync(
        DbContext context, EventStoreModel model, string projection, GlobalCheckpoint checkpoint, long? storedSystemIdentifier, CancellationToken cancellationToken)
    {
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = new NpgsqlCommand(
                NpgsqlProjectionPageSql.TransactionIds(context, model),
                (NpgsqlConnection)database.GetDbConnection(),
                (NpgsqlTransaction?)database.CurrentTransaction?.GetDbTransaction());
            await using (command.ConfigureAwait(false))
            {
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    var next = reader.GetFieldValue<ulong>(0);
                    var cluster = reader.GetInt64(2);
                    if (storedSystemIdentifier is { } stored && stored != cluster)
                    {
                        throw new CheckpointTransactionIdException(projection, checkpoint, stored, cluster, next);
                    }

                    var highest = Math.Max(checkpoint.TransactionId, reader.IsDBNull(1) ? 0 : reader.GetFieldValue<ulong>(1));
                    if (highest >= next)
                    {
                        throw new CheckpointTransactionIdException(projection, checkpoint, highest, next);
                    }

                    return cluster;
                }
            }
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    public async Task<long?> ReadSystemIdentifierAsync(DbContext context, CancellationToken cancellationToken)
    {
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = new NpgsqlCommand(
                "SELECT system_identifier FROM pg_control_system()",
                (NpgsqlConnection)database.GetDbConnection(),
                (NpgsqlTransaction?)database.CurrentTransaction?.GetDbTransaction());
            await using (command.ConfigureAwait(false))
            {
                return (long?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    public async Task<ReadHorizonHolder?> FindHorizonHolderAsync(
        DbContext context, EventStoreModel model, GlobalCheckpoint after, CancellationToken cancellationToken)
    {
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = new NpgsqlCommand(
                NpgsqlProjectionPageSql.HorizonHolder(context, model),
                (NpgsqlConnection)database.GetDbConnection(),
                (NpgsqlTransaction?)database.CurrentTransaction?.GetDbTransaction());
            await using (command.ConfigureAwait(false))
            {
                command.Parameters.Add(new NpgsqlParameter<ulong>("tx", NpgsqlDbType.Xid8) { TypedValue = after.TransactionId });
                command.Parameters.Add(new NpgsqlParameter<long>("position", after.Position));
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        return null;
                    }

                    return new ReadHorizonHolder(
                        reader.GetFieldValue<ulong>(0),
                        reader.IsDBNull(1) ? null : reader.GetInt32(1),
                        reader.IsDBNull(2) ? null : reader.GetString(2),
                        reader.IsDBNull(3) ? null : reader.GetString(3),
                        reader.IsDBNull(4) ? null : reader.GetString(4),
                        reader.IsDBNull(5) ? TimeSpan.Zero : TimeSpan.FromSeconds(reader.GetDouble(5)));
                }
            }
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }
}
