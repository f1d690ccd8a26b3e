using System.Text.Json;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Storage.Internal;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.PostgreSQL.Storage.Internal;

/// <summary>
/// The events table's columns that the stream guard reads, as the model maps them (a column renamed with
/// <c>HasColumnName</c> or by a naming convention is followed). Carried as the value of the table's stream guard
/// annotation, together with the guard's revision, so that a rename or a new guard body shows up in
/// <c>dotnet ef migrations add</c> as an AlterTable that replaces the guard.
/// </summary>
internal sealed record StreamGuardColumns(string StreamType, string StreamId, string Sequence, string TransactionId)
{
    /// <summary>The guard body's revision: 2 rejects non-positive versions (revision 1 was the annotation value <c>true</c>).</summary>
    public const int Revision = 2;

    /// <summary>The library's default column names (and what revision 1, annotation value <c>true</c>, named).</summary>
    public static StreamGuardColumns Default { get; } = new("stream_type", "stream_id", "sequence", NpgsqlEventStoreSchema.TransactionIdColumn);

    /// <summary>Returns the columns of <paramref name="table"/>, which maps the events entity.</summary>
    public static StreamGuardColumns Of(ITable table)
    {
        var events = table.EntityTypeMappings.First(m => m.TypeBase.FindAnnotation(NpgsqlEventStoreSchema.StreamGuardAnnotation) is not null).TypeBase;
        var store = StoreObjectIdentifier.Table(table.Name, table.Schema);
        string Column(string property, string fallback) => events.FindProperty(property)?.GetColumnName(store) ?? fallback;
        return new StreamGuardColumns(
            Column(nameof(StoredEvent.StreamType), Default.StreamType),
            Column(nameof(StoredEvent.StreamId), Default.StreamId),
            Column(nameof(StoredEvent.Sequence), Default.Sequence),
            Column(EventStoreModel.TransactionIdProperty, Default.TransactionId));
    }

    /// <summary>Returns true when an annotation value asks for a guard (<c>true</c> from revision 1, or a revision 2+ value).</summary>
    public static bool IsGuard(object? annotationValue) => annotationValue is true || annotationValue is string;

    /// <summary>Reads the columns from an annotation value (<c>true</c>: the defaults).</summary>
    public static StreamGuardColumns FromAnnotation(object? annotationValue)
    {
        if (annotationValue is not string text)
        {
            return Default;
        }

        var parts = JsonSerializer.Deserialize<string[]>(text);
        return parts is [_, var streamType, var streamId, var sequence, var transactionId]
            ? new StreamGuardColumns(streamType, streamId, sequence, transactionId)
            : Default;
    }

    /// <summary>The annotation value: the revision and the four column names, as a JSON array.</summary>
    public string ToAnnotation()
        => JsonSerializer.Serialize(new[] { Revision.ToString(System.Globalization.CultureInfo.InvariantCulture), StreamType, StreamId, Sequence, TransactionId });
}
