using System.Collections.Concurrent;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// The failures of the catch-up projections the hosted service of <typeparamref name="TContext"/> runs in this process:
/// for each failing projection, how many batches in a row failed and the last error; cleared by its next successful
/// batch. Read by the projections health check.
/// </summary>
internal sealed class ProjectionFailures<TContext>
{
    private readonly ConcurrentDictionary<string, ProjectionFailure> _failing = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, ProjectionFailure> Failing => _failing;

    public void Failed(string projection, Exception error, DateTimeOffset at)
        => _failing.AddOrUpdate(
            projection,
            static (_, s) => new ProjectionFailure(1, s.error, s.at, s.at),
            static (_, previous, s) => previous with { ConsecutiveFailures = previous.ConsecutiveFailures + 1, Error = s.error, LastFailedAt = s.at },
            (error, at));

    public void Succeeded(string projection) => _failing.TryRemove(projection, out _);
}

/// <summary>A projection whose batches fail: how many in a row, the last error, since when.</summary>
internal sealed record ProjectionFailure(int ConsecutiveFailures, Exception Error, DateTimeOffset FirstFailedAt, DateTimeOffset LastFailedAt)
{
    /// <summary>Gets a value indicating whether a handler or an event stopped the projection (<see cref="ProjectionErrorPolicy.Stop"/>).</summary>
    public bool Stopped => Error is ProjectionFailedException;
}
