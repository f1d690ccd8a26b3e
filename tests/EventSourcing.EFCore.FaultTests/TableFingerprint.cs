using System.Text;
using Npgsql;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>
/// A fingerprint of every table of a database: per table its row count and the md5 of its rows' text, in a stable
/// order. Equal before and after a call means the call changed 0 rows in any table.
/// </summary>
public sealed class TableFingerprint
{
    private readonly string _connectionString;
    private readonly string _sql;

    private TableFingerprint(string connectionString, string sql) => (_connectionString, _sql) = (connectionString, sql);

    public static async Task<TableFingerprint> ForAsync(string connectionString)
    {
        var tables = new List<string>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var command = new NpgsqlCommand("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        var sql = new StringBuilder("SELECT string_agg(f, E'\\n' ORDER BY f) FROM (");
        sql.AppendJoin(" UNION ALL ", tables.Select(t => $"SELECT '{t}: ' || count(*) || ' rows ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '-') AS f FROM {t} x"));
        sql.Append(") tables");
        return new TableFingerprint(connectionString, sql.ToString());
    }

    public async Task<string> TakeAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(_sql, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
