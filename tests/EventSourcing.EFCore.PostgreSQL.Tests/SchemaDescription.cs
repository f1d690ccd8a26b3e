using Npgsql;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// A database's schema as sorted lines read from the PostgreSQL catalog: schemas, tables, columns (type, nullability,
/// identity, default), constraints, indexes, triggers and functions (whitespace-normalised source), leaving out EF's
/// migrations history table. Two databases with equal descriptions have the same schema, whatever created them.
/// </summary>
public static class SchemaDescription
{
    private const string Sql = """
        WITH rel AS (
            SELECT c.oid, c.relname, c.relkind, n.nspname
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
               AND c.relname <> '__EFMigrationsHistory')
        SELECT 'schema ' || nspname FROM pg_namespace
         WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE 'pg_temp%'
        UNION ALL
        SELECT 'table ' || nspname || '.' || relname FROM rel WHERE relkind IN ('r', 'p')
        UNION ALL
        SELECT 'column ' || r.nspname || '.' || r.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
               || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
               || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
               || COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
          FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE r.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT 'constraint ' || r.nspname || '.' || r.relname || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
          FROM rel r JOIN pg_constraint con ON con.conrelid = r.oid
        UNION ALL
        SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM rel r JOIN pg_index i ON i.indrelid = r.oid
        UNION ALL
        SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
          FROM rel r JOIN pg_trigger t ON t.tgrelid = r.oid WHERE NOT t.tgisinternal
        UNION ALL
        SELECT 'function ' || n.nspname || '.' || p.proname || '(' || pg_get_function_arguments(p.oid) || ') returns '
               || pg_get_function_result(p.oid) || ': ' || btrim(regexp_replace(p.prosrc, '\s+', ' ', 'g'))
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        ORDER BY 1
        """;

    public static async Task<IReadOnlyList<string>> ReadAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(Sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }

        return lines;
    }
}
