namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>Where an event id is stored.</summary>
internal readonly record struct StoredLocation(StreamId StreamId, long Version);

/// <summary>
/// The one place that tells a replayed batch, an event id clash and a version conflict apart.
/// Both backends use it: EF InMemory before writing, PostgreSQL after a unique index or the stream guard rejected a write.
/// </summary>
internal static class AppendConflictClassifier
{
    /// <summary>
    /// Classifies the batches of one SaveChanges against the store and returns the exception to raise, or null when
    /// nothing conflicts.
    /// </summary>
    /// <param name="batches">The SaveChanges' stream batches, in staging order.</param>
    /// <param name="versions">The current version of every stream in <paramref name="batches"/> (0 when it has no events).</param>
    /// <param name="stored">Where each already stored event id of the batches is stored.</param>
    /// <param name="innerException">The database error that revealed the conflict, if any.</param>
    public static Exception? Classify(
        IReadOnlyList<PendingAppend> batches,
        IReadOnlyDictionary<StreamId, long> versions,
        IReadOnlyDictionary<Guid, StoredLocation> stored,
        Exception? innerException)
    {
        var running = new Dictionary<StreamId, long>(versions);
        var claimed = new Dictionary<Guid, StoredLocation>(); // ids of earlier batches of this save, where they would be stored
        Exception? firstConflict = null;
        PendingAppend? firstReplay = null;
        long replayFirstVersion = 0;
        var newEvents = false;

        foreach (var batch in batches)
        {
            var current = running.GetValueOrDefault(batch.StreamId);
            if (IsReplay(batch, stored, out var firstVersion))
            {
                if (firstReplay is null)
                {
                    firstReplay = batch;
                    replayFirstVersion = firstVersion;
                }

                continue;
            }

            if (FirstStoredId(batch, stored) is { } clash)
            {
                firstConflict ??= new DuplicateEventIdException(clash, batch.StreamId, stored[clash].StreamId, stored[clash].Version, innerException);
                continue;
            }

            if (FirstStoredId(batch, claimed) is { } twice)
            {
                firstConflict ??= new DuplicateEventIdException(twice, batch.StreamId, claimed[twice].StreamId, claimed[twice].Version, innerException);
                continue;
            }

            if (!batch.ExpectedVersion.IsSatisfiedBy(current))
            {
                firstConflict ??= batch.ExpectedVersion.IsStreamExists
                    ? new StreamNotFoundException(batch.StreamId)
                    : new StreamConcurrencyException(batch.StreamId, batch.ExpectedVersion, current == 0 ? null : current, innerException);
                continue;
            }

            newEvents |= batch.Events.Count > 0;
            for (var i = 0; i < batch.Events.Count; i++)
            {
                claimed.TryAdd(batch.Events[i].EventId, new StoredLocation(batch.StreamId, current + 1 + i));
            }

            running[batch.StreamId] = current + batch.Events.Count;
        }

        if (firstConflict is not null)
        {
            return firstConflict;
        }

        if (firstReplay is null)
        {
            return null;
        }

        var replayLastVersion = replayFirstVersion + firstReplay.Events.Count - 1;
        if (newEvents)
        {
            // A caller must never read "already done" while new events of the same save were dropped.
            var id = firstReplay.Events[0].EventId;
            return new DuplicateEventIdException(id, firstReplay.StreamId, firstReplay.StreamId, replayFirstVersion, innerException);
        }

        return new EventsAlreadyAppendedException(
            firstReplay.StreamId, replayFirstVersion, replayLastVersion, versions.GetValueOrDefault(firstReplay.StreamId));
    }

    /// <summary>A replay: every id is stored in the batch's stream, at consecutive versions in batch order.</summary>
    private static bool IsReplay(PendingAppend batch, IReadOnlyDictionary<Guid, StoredLocation> stored, out long firstVersion)
    {
        firstVersion = 0;
        if (batch.Events.Count == 0 || !stored.TryGetValue(batch.Events[0].EventId, out var first) || first.StreamId != batch.StreamId)
        {
            return false;
        }

        for (var i = 1; i < batch.Events.Count; i++)
        {
            if (!stored.TryGetValue(batch.Events[i].EventId, out var location)
                || location.StreamId != batch.StreamId
                || location.Version != first.Version + i)
            {
                return false;
            }
        }

        firstVersion = first.Version;
        return true;
    }

    private static Guid? FirstStoredId(PendingAppend batch, IReadOnlyDictionary<Guid, StoredLocation> stored)
    {
        foreach (var e in batch.Events)
        {
            if (stored.ContainsKey(e.EventId))
            {
                return e.EventId;
            }
        }

        return null;
    }
}
