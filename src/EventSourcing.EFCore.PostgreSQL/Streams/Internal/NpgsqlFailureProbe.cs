using System.Data.Common;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace EventSourcing.EFCore.PostgreSQL.Streams.Internal;

/// <summary>
/// The two reads that classify a rejected append, as SQL for a separate connection: the current version of each
/// stream of the save, and where each of its event ids is stored.
/// </summary>
internal sealed class NpgsqlFailureProbe(DbContext context, EventStoreModel model, IReadOnlyCollection<StreamId> streams, IReadOnlyCollection<Guid> eventIds)
{
    private readonly ISqlGenerationHelper _sql = context.GetService<ISqlGenerationHelper>();

    public StoreState State { get; } = new(streams.ToDictionary(s => s, _ => 0L), []);

    public NpgsqlCommand VersionsCommand(NpgsqlConnection connection)
    {
        var c = model.Columns;
        var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT s.type, s.id, (SELECT max(e.{Q(c.Sequence)}) FROM {Table} e WHERE e.{Q(c.StreamType)} = s.type AND e.{Q(c.StreamId)} = s.id)
              FROM unnest(@types, @ids) AS s(type, id)
            """;
        command.Parameters.Add(new NpgsqlParameter<string[]>("types", streams.Select(s => s.Type).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", streams.Select(s => s.Id).ToArray()));
        return command;
    }

    public NpgsqlCommand LocationsCommand(NpgsqlConnection connection)
    {
        var c = model.Columns;
        var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Q(c.EventId)}, {Q(c.StreamType)}, {Q(c.StreamId)}, {Q(c.Sequence)} FROM {Table} WHERE {Q(c.EventId)} = ANY(@eventIds)";
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("eventIds", eventIds.ToArray()));
        return command;
    }

    public void AddVersion(DbDataReader reader)
    {
        if (!reader.IsDBNull(2))
        {
            State.Versions[new StreamId(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
        }
    }

    public void AddLocation(DbDataReader reader)
        => State.Locations[reader.GetGuid(0)] = new StoredLocation(new StreamId(reader.GetString(1), reader.GetString(2)), reader.GetInt64(3));

    private string Table => _sql.DelimitIdentifier(model.Table, model.Schema);

    private string Q(string column) => _sql.DelimitIdentifier(column);
}
