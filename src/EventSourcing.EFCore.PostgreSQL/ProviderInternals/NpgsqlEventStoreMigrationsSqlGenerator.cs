using EventSourcing.EFCore.PostgreSQL.Storage.Internal;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Migrations;

namespace EventSourcing.EFCore.PostgreSQL.ProviderInternals;

/// <summary>
/// Npgsql's migrations SQL generator plus the events table's stream guard: a statement-level AFTER INSERT trigger,
/// created with the table (migrations, idempotent scripts and EnsureCreated alike), that rejects an insert which
/// does not continue its stream gaplessly (SQLSTATE ES409) or whose stream predecessor was committed by a later
/// transaction (SQLSTATE 40001, retryable), so that per-stream order always agrees with read-all's (tx_id, position) order.
/// The guard follows the table through renames and drops, and <see cref="NpgsqlStreamGuardOperation"/> (from the
/// <c>CreateEventStreamGuard</c>/<c>DropEventStreamGuard</c> migration helpers) goes through the same SQL: this class
/// is the only place that writes it.
/// </summary>
#pragma warning disable EF1001 // INpgsqlSingletonOptions is Npgsql's internal API, required by its generator's constructor.
internal sealed class NpgsqlEventStoreMigrationsSqlGenerator(MigrationsSqlGeneratorDependencies dependencies, INpgsqlSingletonOptions npgsqlOptions)
    : NpgsqlMigrationsSqlGenerator(dependencies, npgsqlOptions)
#pragma warning restore EF1001
{
    protected override void Generate(CreateTableOperation operation, IModel? model, MigrationCommandListBuilder builder, bool terminate = true)
    {
        base.Generate(operation, model, builder, terminate);
        if (operation[NpgsqlEventStoreSchema.StreamGuardAnnotation] is true)
        {
            if (!terminate)
            {
                builder.AppendLine(";").EndCommand();
            }

            CreateGuard(operation.Name, operation.Schema, builder);
        }
    }

    protected override void Generate(AlterTableOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        base.Generate(operation, model, builder);
        var wanted = operation[NpgsqlEventStoreSchema.StreamGuardAnnotation] is true;
        var had = operation.OldTable[NpgsqlEventStoreSchema.StreamGuardAnnotation] is true;
        if (wanted && !had)
        {
            CreateGuard(operation.Name, operation.Schema, builder);
        }
        else if (had && !wanted)
        {
            DropGuard(operation.Name, operation.Schema, builder);
        }
    }

    protected override void Generate(RenameTableOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        base.Generate(operation, model, builder);
        var newName = operation.NewName ?? operation.Name;
        var tables = model?.GetRelationalModel();
        if ((tables?.FindTable(newName, operation.NewSchema) ?? tables?.FindTable(newName, operation.Schema)) is { } table
            && table[NpgsqlEventStoreSchema.StreamGuardAnnotation] is true)
        {
            var newSchema = table.Schema;

            // The trigger moves with the table, but the function stays in the old schema and its body names the old
            // table: drop both and create them again under the new name.
            DropGuard(newName, newSchema, NpgsqlEventStoreSchema.GuardName(operation.Name), operation.Schema, builder);
            CreateGuard(newName, newSchema, builder);
        }
    }

    protected override void Generate(DropTableOperation operation, IModel? model, MigrationCommandListBuilder builder, bool terminate = true)
    {
        base.Generate(operation, model, builder, terminate);
        if (operation[NpgsqlEventStoreSchema.StreamGuardAnnotation] is true)
        {
            if (!terminate)
            {
                builder.AppendLine(";").EndCommand();
            }

            // The trigger went with the table; its function did not.
            DropGuardFunction(NpgsqlEventStoreSchema.GuardName(operation.Name), operation.Schema, builder);
        }
    }

    protected override void Generate(MigrationOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        if (operation is NpgsqlStreamGuardOperation guard)
        {
            if (guard.Drop)
            {
                DropGuard(guard.Table, guard.Schema, builder);
            }
            else
            {
                CreateGuard(guard.Table, guard.Schema, builder);
            }

            return;
        }

        base.Generate(operation, model, builder);
    }

    private void CreateGuard(string table, string? schema, MigrationCommandListBuilder builder)
    {
        var helper = Dependencies.SqlGenerationHelper;
        var qualifiedTable = helper.DelimitIdentifier(table, schema);
        var guard = NpgsqlEventStoreSchema.GuardName(table);
        var function = helper.DelimitIdentifier(guard, schema);
        builder
            // SET enable_seqscan = off and the non-flattenable LATERAL probe (OFFSET 0, gated by first_sequence > 1) keep the
            // guard linear in the rows inserted even when the table's statistics say it is empty while it is not (an
            // autoanalyze during a large first import): new streams are never probed, others by one index lookup each.
            .AppendLine($"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $guard$")
            .AppendLine("DECLARE")
            .AppendLine("    bad record;")
            .AppendLine("BEGIN")
            .AppendLine("    SELECT n.stream_type, n.stream_id, n.first_sequence, n.last_sequence, n.row_count, p.tx_id AS previous_tx, n.min_tx")
            .AppendLine("      INTO bad")
            .AppendLine("      FROM (SELECT stream_type, stream_id, min(sequence) AS first_sequence, max(sequence) AS last_sequence,")
            .AppendLine("                   count(*) AS row_count, min(tx_id) AS min_tx")
            .AppendLine("              FROM new_events GROUP BY stream_type, stream_id) n")
            .AppendLine($"      LEFT JOIN LATERAL (SELECT e.tx_id FROM {qualifiedTable} e")
            .AppendLine("                          WHERE n.first_sequence > 1")
            .AppendLine("                            AND e.stream_type = n.stream_type AND e.stream_id = n.stream_id AND e.sequence = n.first_sequence - 1")
            .AppendLine("                         OFFSET 0) p ON true")
            .AppendLine("     WHERE n.last_sequence - n.first_sequence + 1 <> n.row_count")
            .AppendLine("        OR (n.first_sequence > 1 AND (p.tx_id IS NULL OR p.tx_id > n.min_tx))")
            .AppendLine("     LIMIT 1;")
            .AppendLine("    IF NOT FOUND THEN")
            .AppendLine("        RETURN NULL;")
            .AppendLine("    END IF;")
            .AppendLine("    IF bad.previous_tx IS NOT NULL AND bad.last_sequence - bad.first_sequence + 1 = bad.row_count THEN")
            .AppendLine("        RAISE EXCEPTION 'event store: the previous event of stream %/% was committed by a later transaction; retry the append', bad.stream_type, bad.stream_id")
            .AppendLine($"            USING ERRCODE = '{NpgsqlEventStoreSchema.SerializationFailureSqlState}', CONSTRAINT = '{guard}';")
            .AppendLine("    END IF;")
            .AppendLine("    RAISE EXCEPTION 'event store: the append to stream %/% at version % does not continue the stream', bad.stream_type, bad.stream_id, bad.first_sequence")
            .AppendLine($"        USING ERRCODE = '{NpgsqlEventStoreSchema.StreamGapSqlState}', CONSTRAINT = '{guard}';")
            .AppendLine("END")
            .Append("$guard$")
            .AppendLine(helper.StatementTerminator)
            .EndCommand();

        builder
            .AppendLine($"DROP TRIGGER IF EXISTS {helper.DelimitIdentifier(guard)} ON {qualifiedTable}{helper.StatementTerminator}")
            .EndCommand();
        builder
            .AppendLine($"CREATE TRIGGER {helper.DelimitIdentifier(guard)} AFTER INSERT ON {qualifiedTable}")
            .AppendLine($"    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION {function}(){helper.StatementTerminator}")
            .EndCommand();
    }

    private void DropGuard(string table, string? schema, MigrationCommandListBuilder builder)
        => DropGuard(table, schema, NpgsqlEventStoreSchema.GuardName(table), schema, builder);

    /// <summary>Drops the trigger <paramref name="guard"/> of a table and its function in <paramref name="functionSchema"/>.</summary>
    private void DropGuard(string table, string? schema, string guard, string? functionSchema, MigrationCommandListBuilder builder)
    {
        var helper = Dependencies.SqlGenerationHelper;
        builder
            .AppendLine($"DROP TRIGGER IF EXISTS {helper.DelimitIdentifier(guard)} ON {helper.DelimitIdentifier(table, schema)}{helper.StatementTerminator}")
            .EndCommand();
        DropGuardFunction(guard, functionSchema, builder);
    }

    private void DropGuardFunction(string guard, string? schema, MigrationCommandListBuilder builder)
    {
        var helper = Dependencies.SqlGenerationHelper;
        builder
            .AppendLine($"DROP FUNCTION IF EXISTS {helper.DelimitIdentifier(guard, schema)}(){helper.StatementTerminator}")
            .EndCommand();
    }
}
