using EventSourcing.EFCore.PostgreSQL.Storage.Internal;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Migrations;

namespace EventSourcing.EFCore.PostgreSQL.ProviderInternals;

/// <summary>
/// Npgsql's migrations SQL generator plus the events table's stream guard: a statement-level AFTER INSERT trigger,
/// created with the table (migrations, idempotent scripts and EnsureCreated alike), that rejects an insert which
/// does not continue its stream gaplessly (SQLSTATE ES409), a non-positive version (23514) or whose stream predecessor was committed by a later
/// transaction (SQLSTATE 40001, retryable), so that per-stream order always agrees with read-all's (tx_id, position) order.
/// The guard follows the table through renames and drops, and <see cref="NpgsqlStreamGuardOperation"/> (from the
/// <c>CreateEventStreamGuard</c>/<c>DropEventStreamGuard</c> migration helpers) goes through the same SQL: this class
/// is the only place that writes it. Its body names the model's columns (<see cref="StreamGuardColumns"/>), every identifier
/// quoted, the table and function schema-qualified.
/// </summary>
#pragma warning disable EF1001 // INpgsqlSingletonOptions is Npgsql's internal API, required by its generator's constructor.
internal sealed class NpgsqlEventStoreMigrationsSqlGenerator(MigrationsSqlGeneratorDependencies dependencies, INpgsqlSingletonOptions npgsqlOptions)
    : NpgsqlMigrationsSqlGenerator(dependencies, npgsqlOptions)
#pragma warning restore EF1001
{
    protected override void Generate(CreateTableOperation operation, IModel? model, MigrationCommandListBuilder builder, bool terminate = true)
    {
        base.Generate(operation, model, builder, terminate);
        if (StreamGuardColumns.IsGuard(operation[NpgsqlEventStoreSchema.StreamGuardAnnotation]))
        {
            if (!terminate)
            {
                builder.AppendLine(";").EndCommand();
            }

            CreateGuard(operation.Name, operation.Schema, StreamGuardColumns.FromAnnotation(operation[NpgsqlEventStoreSchema.StreamGuardAnnotation]), builder);
        }
    }

    protected override void Generate(AlterTableOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        base.Generate(operation, model, builder);
        var wanted = operation[NpgsqlEventStoreSchema.StreamGuardAnnotation];
        var had = operation.OldTable[NpgsqlEventStoreSchema.StreamGuardAnnotation];
        if (StreamGuardColumns.IsGuard(wanted) && !Equals(wanted, had))
        {
            // New guard, renamed columns or a new guard revision: CreateGuard replaces function and trigger.
            CreateGuard(operation.Name, operation.Schema, StreamGuardColumns.FromAnnotation(wanted), builder);
        }
        else if (StreamGuardColumns.IsGuard(had) && !StreamGuardColumns.IsGuard(wanted))
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
            && StreamGuardColumns.IsGuard(table[NpgsqlEventStoreSchema.StreamGuardAnnotation]))
        {
            var newSchema = table.Schema;

            // The trigger moves with the table, but the function stays in the old schema and its body names the old
            // table: drop both and create them again under the new name.
            DropGuard(newName, newSchema, NpgsqlEventStoreSchema.GuardName(operation.Name), operation.Schema, builder);
            CreateGuard(newName, newSchema, StreamGuardColumns.FromAnnotation(table[NpgsqlEventStoreSchema.StreamGuardAnnotation]), builder);
        }
    }

    protected override void Generate(RenameColumnOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        base.Generate(operation, model, builder);

        // The guard's body names the columns: write it again with the model's names (an AlterTable of the same
        // migration may do it too; replacing it twice is harmless).
        if (model?.GetRelationalModel().FindTable(operation.Table, operation.Schema) is { } table
            && StreamGuardColumns.IsGuard(table[NpgsqlEventStoreSchema.StreamGuardAnnotation]))
        {
            CreateGuard(table.Name, table.Schema, StreamGuardColumns.FromAnnotation(table[NpgsqlEventStoreSchema.StreamGuardAnnotation]), builder);
        }
    }

    protected override void Generate(DropTableOperation operation, IModel? model, MigrationCommandListBuilder builder, bool terminate = true)
    {
        base.Generate(operation, model, builder, terminate);
        if (StreamGuardColumns.IsGuard(operation[NpgsqlEventStoreSchema.StreamGuardAnnotation]))
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
                // The migration's target model names the columns; without one (no designer file), the defaults.
                var table = model?.GetRelationalModel().FindTable(guard.Table, guard.Schema);
                var columns = table is not null && StreamGuardColumns.IsGuard(table[NpgsqlEventStoreSchema.StreamGuardAnnotation])
                    ? StreamGuardColumns.FromAnnotation(table[NpgsqlEventStoreSchema.StreamGuardAnnotation])
                    : StreamGuardColumns.Default;
                CreateGuard(guard.Table, guard.Schema, columns, builder);
            }

            return;
        }

        base.Generate(operation, model, builder);
    }

    private void CreateGuard(string table, string? schema, StreamGuardColumns columns, MigrationCommandListBuilder builder)
    {
        var helper = Dependencies.SqlGenerationHelper;
        var literal = Dependencies.TypeMappingSource.GetMapping(typeof(string));
        var qualifiedTable = helper.DelimitIdentifier(table, schema);
        var guard = NpgsqlEventStoreSchema.GuardName(table);
        var function = helper.DelimitIdentifier(guard, schema);
        var constraint = literal.GenerateSqlLiteral(guard);
        var type = helper.DelimitIdentifier(columns.StreamType);
        var id = helper.DelimitIdentifier(columns.StreamId);
        var sequence = helper.DelimitIdentifier(columns.Sequence);
        var tx = helper.DelimitIdentifier(columns.TransactionId);
        var body = new System.Text.StringBuilder()
            // SET enable_seqscan = off and the non-flattenable LATERAL probe (OFFSET 0, gated by first_sequence > 1) keep the
            // guard linear in the rows inserted even when the table's statistics say it is empty while it is not (an
            // autoanalyze during a large first import): new streams are never probed, others by one index lookup each.
            .AppendLine("DECLARE")
            .AppendLine("    bad record;")
            .AppendLine("BEGIN")
            .AppendLine("    SELECT n.s_type, n.s_id, n.first_sequence, n.last_sequence, n.row_count, p.previous_tx, n.min_tx")
            .AppendLine("      INTO bad")
            .AppendLine($"      FROM (SELECT {type} AS s_type, {id} AS s_id, min({sequence}) AS first_sequence, max({sequence}) AS last_sequence,")
            .AppendLine($"                   count(*) AS row_count, min({tx}) AS min_tx")
            .AppendLine($"              FROM new_events GROUP BY {type}, {id}) n")
            .AppendLine($"      LEFT JOIN LATERAL (SELECT e.{tx} AS previous_tx FROM {qualifiedTable} e")
            .AppendLine("                          WHERE n.first_sequence > 1")
            .AppendLine($"                            AND e.{type} = n.s_type AND e.{id} = n.s_id AND e.{sequence} = n.first_sequence - 1")
            .AppendLine("                         OFFSET 0) p ON true")
            .AppendLine("     WHERE n.first_sequence < 1")
            .AppendLine("        OR n.last_sequence - n.first_sequence + 1 <> n.row_count")
            .AppendLine("        OR (n.first_sequence > 1 AND (p.previous_tx IS NULL OR p.previous_tx > n.min_tx))")
            .AppendLine("     LIMIT 1;")
            .AppendLine("    IF NOT FOUND THEN")
            .AppendLine("        RETURN NULL;")
            .AppendLine("    END IF;")
            .AppendLine("    IF bad.first_sequence < 1 THEN")
            .AppendLine("        RAISE EXCEPTION 'event store: version % of stream %/% is not positive', bad.first_sequence, bad.s_type, bad.s_id")
            .AppendLine($"            USING ERRCODE = '{NpgsqlEventStoreSchema.CheckViolationSqlState}', CONSTRAINT = {constraint};")
            .AppendLine("    END IF;")
            .AppendLine("    IF bad.previous_tx IS NOT NULL AND bad.last_sequence - bad.first_sequence + 1 = bad.row_count THEN")
            .AppendLine("        RAISE EXCEPTION 'event store: the previous event of stream %/% was committed by a later transaction; retry the append', bad.s_type, bad.s_id")
            .AppendLine($"            USING ERRCODE = '{NpgsqlEventStoreSchema.SerializationFailureSqlState}', CONSTRAINT = {constraint};")
            .AppendLine("    END IF;")
            .AppendLine("    RAISE EXCEPTION 'event store: the append to stream %/% at version % does not continue the stream', bad.s_type, bad.s_id, bad.first_sequence")
            .AppendLine($"        USING ERRCODE = '{NpgsqlEventStoreSchema.StreamGapSqlState}', CONSTRAINT = {constraint};")
            .AppendLine("END")
            .ToString();

        // Dollar-quote the body with a tag that no quoted identifier in it contains.
        var tag = "$guard$";
        for (var i = 0; body.Contains(tag, StringComparison.Ordinal); i++)
        {
            tag = "$guard" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "$";
        }

        builder
            .AppendLine($"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS {tag}")
            .Append(body)
            .Append(tag)
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
