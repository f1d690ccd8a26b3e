namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// The versions a SaveChanges gives its staged batches: each batch starts after the version the stream is known
/// (or expected) to be at, and batches to the same stream chain in staging order.
/// </summary>
internal sealed class AppendPlan
{
    private AppendPlan(IReadOnlyList<PendingAppend> batches, long[] firstVersions, long[] resultVersions, bool conflicts)
    {
        Batches = batches;
        FirstVersions = firstVersions;
        ResultVersions = resultVersions;
        HasKnownConflict = conflicts;
    }

    public IReadOnlyList<PendingAppend> Batches { get; }

    /// <summary>Gets the number of events of all batches.</summary>
    public int EventCount
    {
        get
        {
            var count = 0;
            foreach (var batch in Batches)
            {
                count += batch.Events.Count;
            }

            return count;
        }
    }

    /// <summary>Gets the version of each batch's first event.</summary>
    public long[] FirstVersions { get; }

    /// <summary>Gets the stream's version after each batch.</summary>
    public long[] ResultVersions { get; }

    /// <summary>
    /// Gets a value indicating whether the plan already fails before any write: a known version fails a batch's
    /// expectation, or two batches of the save carry the same event id.
    /// </summary>
    public bool HasKnownConflict { get; }

    /// <summary>Returns the streams whose current version must be read: a first batch with Any, StreamExists or no events.</summary>
    public static HashSet<StreamId> StreamsToRead(IReadOnlyList<PendingAppend> batches, bool all)
    {
        var seen = new HashSet<StreamId>();
        var toRead = new HashSet<StreamId>();
        foreach (var batch in batches)
        {
            if (seen.Add(batch.StreamId)
                && (all || batch.ExpectedVersion.Version is null || batch.Events.Count == 0))
            {
                toRead.Add(batch.StreamId);
            }
        }

        return toRead;
    }

    /// <param name="batches">The staged batches, in staging order.</param>
    /// <param name="knownVersions">Current versions read from the store (0 for a stream without events).</param>
    public static AppendPlan Create(IReadOnlyList<PendingAppend> batches, IReadOnlyDictionary<StreamId, long> knownVersions)
    {
        var running = new Dictionary<StreamId, long>(knownVersions);
        var firstVersions = new long[batches.Count];
        var resultVersions = new long[batches.Count];
        var conflicts = false;
        // Ids unique within each batch were checked when it was prepared (EventPreparer): only several batches need the set.
        var eventIds = batches.Count > 1 ? new HashSet<Guid>(batches.Sum(b => b.Events.Count)) : null;
        for (var i = 0; i < batches.Count; i++)
        {
            var batch = batches[i];
            long current;
            if (running.TryGetValue(batch.StreamId, out var known))
            {
                conflicts |= !batch.ExpectedVersion.IsSatisfiedBy(known);
                current = known;
            }
            else
            {
                current = batch.ExpectedVersion.Version
                    ?? throw new InvalidOperationException("The current version of " + batch.StreamId + " was not read.");
            }

            if (eventIds is not null)
            {
                foreach (var e in batch.Events)
                {
                    conflicts |= !eventIds.Add(e.EventId);
                }
            }

            firstVersions[i] = checked(current + 1);
            resultVersions[i] = checked(current + batch.Events.Count);
            running[batch.StreamId] = resultVersions[i];
        }

        return new AppendPlan(batches, firstVersions, resultVersions, conflicts);
    }
}
