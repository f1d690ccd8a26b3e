using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Serialization.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.OutboxInternal;

/// <summary>
/// Adds the outbox rows of one SaveChanges: for every event of the save, one row per distinct destination of the
/// routes that select it. The outbox's part of a save, after the event rows are staged; the rows join the save's
/// entries, so a save that does not happen removes them with the events and a retry writes each once.
/// </summary>
internal sealed class OutboxStaging : ISaveParticipant
{
    // Headers are read into a dictionary sized for the library's headers, a few of the application's and the global
    // position added at dispatch, so reading one does not grow it step by step (3, 7, 17 entries).
    private static readonly JsonSerializerOptions HeaderOptions = new()
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver
        {
            Modifiers =
            {
                static info =>
                {
                    if (info.Type == typeof(Dictionary<string, string>))
                    {
                        info.CreateObject = static () => new Dictionary<string, string>(16);
                    }
                },
            },
        },
    };

    public Task StageAsync(DbContext context, SaveInProgress save, CancellationToken cancellationToken)
    {
        Stage(context, save);
        return Task.CompletedTask;
    }

    public void Accept(SaveInProgress save)
    {
    }

    public void Abandon(SaveInProgress save)
    {
    }

    public void Stage(DbContext context, SaveInProgress save)
    {
        var plan = save.Plan;
        var options = context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>();
        if (options?.Outbox is not { Routes.IsEmpty: false } settings)
        {
            return;
        }

        OutboxModel.Get(context.Model); // throws when IncludeEventStore() was not called
        var now = options.TimeProvider.GetUtcNow();
        var rows = new List<StoredOutboxMessage>();
        var destinations = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            var batch = plan.Batches[i];
            var version = plan.FirstVersions[i];
            foreach (var e in batch.Events)
            {
                var metadata = EventSerializer.DeserializeMetadata(e.Metadata);
                var recorded = new RecordedEvent(batch.StreamId, version, 0, default, e.EventId, e.EventType, e.EventTypeVersion, e.Data, metadata, e.Timestamp);
                destinations.Clear();
                foreach (var route in settings.Routes)
                {
                    if (!route.Predicate(recorded) || !destinations.Add(route.Destination))
                    {
                        continue;
                    }

                    var headers = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
                    route.Headers?.Invoke(recorded, headers);
                    AddLibraryHeaders(headers, recorded);
                    rows.Add(new StoredOutboxMessage
                    {
                        EventId = e.EventId,
                        Destination = route.Destination,
                        EventType = e.EventType,
                        StreamType = batch.StreamId.Type,
                        StreamId = batch.StreamId.Id,
                        StreamVersion = version,
                        Payload = e.Payload,
                        Headers = JsonSerializer.Serialize(headers, HeaderOptions),
                        CreatedAt = now,
                        Attempts = 0,
                        NextAttemptAt = now,
                    });
                }

                version++;
            }
        }

        // Added only once every route ran: a throwing predicate or header callback leaves nothing half-staged.
        var set = context.Set<StoredOutboxMessage>();
        foreach (var row in rows)
        {
            save.Entries.Add(set.Add(row));
        }
    }

    /// <summary>Reads stored headers and adds the global position, known only once the event is committed.</summary>
    public static IReadOnlyDictionary<string, string> ReadHeaders(string json, long? globalPosition)
    {
        var headers = JsonSerializer.Deserialize<Dictionary<string, string>>(json, HeaderOptions) ?? [];
        if (globalPosition is { } position)
        {
            headers[OutboxHeaders.GlobalPosition] = position.ToString(CultureInfo.InvariantCulture);
        }

        return headers;
    }

    private static void AddLibraryHeaders(Dictionary<string, string> headers, RecordedEvent e)
    {
        headers[OutboxHeaders.StreamType] = e.StreamId.Type;
        headers[OutboxHeaders.StreamId] = e.StreamId.Id;
        headers[OutboxHeaders.Version] = e.Version.ToString(CultureInfo.InvariantCulture);
        headers[OutboxHeaders.EventType] = e.EventType;
        headers[OutboxHeaders.EventTypeVersion] = e.EventTypeVersion.ToString(CultureInfo.InvariantCulture);
        headers[OutboxHeaders.EventId] = e.EventId.ToString();
        headers[OutboxHeaders.Timestamp] = e.Timestamp.ToString("O", CultureInfo.InvariantCulture);
    }
}
