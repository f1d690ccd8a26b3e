using System.Buffers;
using System.Text.Json;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Serialization.Internal;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// Validates and serializes a batch of events at append time, before any I/O: registered type, payload and
/// metadata size, UTC timestamps, non-empty and batch-unique ids.
/// </summary>
internal static class EventPreparer
{
    public static IReadOnlyList<PreparedEvent> Prepare(EventSourcingOptionsExtension options, StreamId streamId, IEnumerable<object> events, bool recordTraceContext = true)
    {
        ArgumentNullException.ThrowIfNull(events);
        // Sized up front when the count is known: growing them event by event was a fifth of a 100-event save's allocations.
        var capacity = events.TryGetNonEnumeratedCount(out var count) ? count : 0;
        var prepared = new List<PreparedEvent>(capacity);
        var now = options.TimeProvider.GetUtcNow();
        var index = 0;
        foreach (var item in events)
        {
            prepared.Add(PrepareOne(options, streamId, index, item, now, recordTraceContext && options.RecordTraceContext));
            index++;
        }

        ThrowIfDuplicateId(streamId, prepared, nameof(events));
        return prepared;
    }

    /// <summary>
    /// Throws when two events of the batch carry the same id, naming the first event that repeats an earlier one's id (as
    /// a check in batch order would). Sorted ids, not a hash set, find whether there is one: a set's entries were a tenth
    /// of a 100-event save's allocations; the set is built only once a repeat is known.
    /// </summary>
    private static void ThrowIfDuplicateId(StreamId streamId, List<PreparedEvent> prepared, string paramName)
    {
        if (prepared.Count < 2)
        {
            return;
        }

        // A pooled buffer: the sorted copy is needed only for this check.
        var rented = ArrayPool<Guid>.Shared.Rent(prepared.Count);
        var repeats = false;
        try
        {
            var ids = rented.AsSpan(0, prepared.Count);
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = prepared[i].EventId;
            }

            ids.Sort();
            for (var i = 1; i < ids.Length && !repeats; i++)
            {
                repeats = ids[i] == ids[i - 1];
            }
        }
        finally
        {
            ArrayPool<Guid>.Shared.Return(rented);
        }

        if (repeats)
        {
            // A repeat exists: name the first event, in batch order, whose id an earlier one carries.
            var seen = new HashSet<Guid>(prepared.Count);
            var index = 0;
            while (seen.Add(prepared[index].EventId))
            {
                index++;
            }

            throw new ArgumentException(Messages.DuplicateIdInBatch(streamId, prepared[index].EventId, index), paramName);
        }
    }

    /// <summary>Throws when <paramref name="count"/> events after <paramref name="from"/> would pass the largest version.</summary>
    public static void ThrowIfVersionOverflows(StreamId streamId, long? from, int count, string paramName)
    {
        if (from is { } version && count > 0 && version > long.MaxValue - count)
        {
            throw new ArgumentOutOfRangeException(paramName, version, Messages.VersionOverflow(streamId, version, count));
        }
    }

    private static PreparedEvent PrepareOne(EventSourcingOptionsExtension options, StreamId streamId, int index, object? item, DateTimeOffset now, bool recordTraceContext)
    {
        if (item is null)
        {
            throw new EventValidationException(streamId, index, nameof(EventData.Data), "the event is null");
        }

        var envelope = item as EventData;
        var data = envelope?.Data ?? item;
        var mapping = options.Registry.GetByType(data.GetType());
        if (options.Registry.GetByName(mapping.Name) is { } current && current != mapping)
        {
            throw new EventValidationException(streamId, index, nameof(EventData.Data), Messages.HistoricalEventAppended(mapping.ClrType, mapping.Name, mapping.Version, current.Version, current.ClrType));
        }

        var eventId = envelope?.EventId ?? Guid.CreateVersion7(now);
        if (eventId == Guid.Empty)
        {
            throw new EventValidationException(streamId, index, nameof(EventData.EventId), "the event id is empty");
        }

        var timestamp = envelope?.Timestamp ?? now;
        if (timestamp.Offset != TimeSpan.Zero)
        {
            throw new EventValidationException(streamId, index, nameof(EventData.Timestamp), $"the timestamp has offset {timestamp.Offset}; use UTC");
        }

        string payload;
        try
        {
            payload = options.Serializer.Serialize(data, mapping.ClrType);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            throw new EventValidationException(streamId, index, nameof(EventData.Data), "it cannot be serialized to JSON: " + e.Message);
        }

        if (HasNulEscape(payload))
        {
            throw new EventValidationException(streamId, index, nameof(EventData.Data), Messages.NulCharacter("a string of the event"));
        }

        if (HasLoneSurrogateEscape(payload))
        {
            throw new EventValidationException(streamId, index, nameof(EventData.Data), Messages.LoneSurrogate("a string of the event"));
        }

        var payloadSize = EventSerializer.Utf8Length(payload);
        if (payloadSize > options.MaxEventSize)
        {
            throw new EventValidationException(streamId, index, nameof(EventData.Data), Messages.TooLarge(payloadSize, options.MaxEventSize));
        }

        var metadata = envelope?.Metadata;
        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
            {
                if (string.IsNullOrEmpty(key) || value is null)
                {
                    throw new EventValidationException(streamId, index, nameof(EventData.Metadata), "metadata keys must be non-empty and values non-null");
                }

                if (key.Contains('\0', StringComparison.Ordinal) || value.Contains('\0', StringComparison.Ordinal))
                {
                    throw new EventValidationException(streamId, index, nameof(EventData.Metadata), Messages.NulCharacter($"metadata entry '{key.Replace("\0", "\\0", StringComparison.Ordinal)}'"));
                }

                if (key.Any(char.IsControl))
                {
                    throw new EventValidationException(streamId, index, nameof(EventData.Metadata), Messages.ControlCharacter("metadata key"));
                }

                if (HasLoneSurrogate(key) || HasLoneSurrogate(value))
                {
                    throw new EventValidationException(streamId, index, nameof(EventData.Metadata), Messages.LoneSurrogate("metadata entry"));
                }
            }
        }

        metadata = recordTraceContext ? TraceContextMetadata.Add(metadata) : metadata;
        var metadataJson = EventSerializer.SerializeMetadata(metadata);
        if (metadataJson is not null && EventSerializer.Utf8Length(metadataJson) > options.MaxEventSize)
        {
            throw new EventValidationException(streamId, index, nameof(EventData.Metadata), Messages.TooLarge(EventSerializer.Utf8Length(metadataJson), options.MaxEventSize));
        }

        return new PreparedEvent(eventId, mapping.Name, mapping.Version, data, payload, metadataJson, timestamp);
    }

    /// <summary>
    /// Returns true when the JSON text holds the escape <c>\u0000</c> (a NUL in a string): JSON writers must escape it,
    /// and PostgreSQL jsonb rejects it (22P05). Escapes are walked in order, so an escaped backslash followed by
    /// <c>u0000</c> is not mistaken for one.
    /// </summary>
    /// <summary>Returns true when <paramref name="text"/> holds half of a UTF-16 surrogate pair.</summary>
    internal static bool HasLoneSurrogate(string text)
    {
        // Most text holds no surrogate at all: a vectorized search finds the first one, if any.
        var first = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (first < 0)
        {
            return false;
        }

        for (var i = first; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Returns true when the JSON text holds a lone surrogate, written raw or as a <c>\uD800</c>–<c>\uDFFF</c> escape
    /// not paired with its other half: it cannot be stored as UTF-8 and would not read back as written.
    /// </summary>
    private static bool HasLoneSurrogateEscape(string json)
    {
        if (HasLoneSurrogate(json))
        {
            return true;
        }

        if (!json.Contains('\\', StringComparison.Ordinal))
        {
            return false;
        }

        var i = json.IndexOf("\\u", StringComparison.OrdinalIgnoreCase);
        while (i >= 0 && i + 6 <= json.Length)
        {
            if (i > 0 && json[i - 1] == '\\' && !EscapeStartsAt(json, i))
            {
                i = json.IndexOf("\\u", i + 2, StringComparison.OrdinalIgnoreCase);
                continue;
            }

            if (ushort.TryParse(json.AsSpan(i + 2, 4), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var unit)
                && char.IsSurrogate((char)unit))
            {
                var next = i + 6;
                if (char.IsHighSurrogate((char)unit)
                    && next + 6 <= json.Length && json[next] == '\\' && (json[next + 1] == 'u' || json[next + 1] == 'U')
                    && ushort.TryParse(json.AsSpan(next + 2, 4), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var low)
                    && char.IsLowSurrogate((char)low))
                {
                    i = json.IndexOf("\\u", next + 6, StringComparison.OrdinalIgnoreCase);
                    continue;
                }

                return true;
            }

            i = json.IndexOf("\\u", i + 6, StringComparison.OrdinalIgnoreCase);
        }

        return false;
    }

    /// <summary>Returns true when the backslash at <paramref name="index"/> starts an escape (is preceded by an even run of backslashes).</summary>
    private static bool EscapeStartsAt(string json, int index)
    {
        var run = 0;
        for (var j = index - 1; j >= 0 && json[j] == '\\'; j--)
        {
            run++;
        }

        return run % 2 == 0;
    }

    private static bool HasNulEscape(string json)
    {
        var i = json.IndexOf('\\', StringComparison.Ordinal);
        while (i >= 0 && i + 1 < json.Length)
        {
            if (json[i + 1] == 'u')
            {
                if (string.CompareOrdinal(json, i + 2, "0000", 0, 4) == 0)
                {
                    return true;
                }

                i = json.IndexOf('\\', i + 6 > json.Length ? json.Length : i + 6);
            }
            else
            {
                i = json.IndexOf('\\', i + 2 > json.Length ? json.Length : i + 2);
            }
        }

        return false;
    }
}
