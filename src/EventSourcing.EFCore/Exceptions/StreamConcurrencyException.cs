using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore;

/// <summary>
/// Thrown when an append's expected version is not met: another writer appended to the stream first. Nothing of
/// the SaveChanges that raised it was written.
/// </summary>
/// <remarks>
/// It is a <see cref="DbUpdateConcurrencyException"/>, so existing <c>catch (DbUpdateConcurrencyException)</c> and
/// retry code keeps working. The usual response is to reload the stream (or aggregate), re-decide and append again.
/// </remarks>
public sealed class StreamConcurrencyException : DbUpdateConcurrencyException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="streamId">The stream whose version did not match.</param>
    /// <param name="expectedVersion">The version the writer expected.</param>
    /// <param name="actualVersion">The stream's version when the conflict was detected; <see langword="null"/> when it has no events.</param>
    /// <param name="innerException">The database error that revealed the conflict, if any.</param>
    public StreamConcurrencyException(StreamId streamId, ExpectedVersion expectedVersion, long? actualVersion, Exception? innerException = null)
        : base(Messages.StreamConcurrency(streamId, expectedVersion, actualVersion), innerException)
    {
        StreamId = streamId;
        ExpectedVersion = expectedVersion;
        ActualVersion = actualVersion;
    }

    /// <summary>Gets the stream whose version did not match.</summary>
    public StreamId StreamId { get; }

    /// <summary>Gets the version the writer expected.</summary>
    public ExpectedVersion ExpectedVersion { get; }

    /// <summary>Gets the stream's version when the conflict was detected; <see langword="null"/> when the stream has no events.</summary>
    public long? ActualVersion { get; }
}
