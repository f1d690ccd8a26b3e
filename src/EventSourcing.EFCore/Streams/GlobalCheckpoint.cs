using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using EventSourcing.EFCore.Diagnostics.Internal;

namespace EventSourcing.EFCore;

/// <summary>
/// An opaque, comparable cursor into the store-wide order of events, used by <c>ReadAllAsync</c>.
/// </summary>
/// <remarks>
/// On PostgreSQL the cursor is the pair (transaction id, global position), the order in which events become
/// visible; on EF InMemory the transaction id is always 0. A checkpoint round-trips through
/// <see cref="ToString"/> and <see cref="Parse"/>, so it can be stored anywhere.
/// </remarks>
public readonly record struct GlobalCheckpoint : IComparable<GlobalCheckpoint>, IComparable
{
    /// <summary>
    /// Creates a checkpoint.
    /// </summary>
    /// <param name="transactionId">The transaction id part (PostgreSQL <c>xid8</c>; 0 on EF InMemory).</param>
    /// <param name="position">The global position part.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="position"/> is negative.</exception>
    public GlobalCheckpoint(ulong transactionId, long position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        TransactionId = transactionId;
        Position = position;
    }

    /// <summary>Gets the checkpoint before the first event of the store.</summary>
    public static GlobalCheckpoint Start => default;

    /// <summary>Gets the transaction id part of the cursor.</summary>
    public ulong TransactionId { get; }

    /// <summary>Gets the global position part of the cursor.</summary>
    public long Position { get; }

    /// <summary>Compares two checkpoints.</summary>
    /// <param name="left">The first checkpoint.</param>
    /// <param name="right">The second checkpoint.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> comes before <paramref name="right"/>.</returns>
    public static bool operator <(GlobalCheckpoint left, GlobalCheckpoint right) => left.CompareTo(right) < 0;

    /// <summary>Compares two checkpoints.</summary>
    /// <param name="left">The first checkpoint.</param>
    /// <param name="right">The second checkpoint.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> comes after <paramref name="right"/>.</returns>
    public static bool operator >(GlobalCheckpoint left, GlobalCheckpoint right) => left.CompareTo(right) > 0;

    /// <summary>Compares two checkpoints.</summary>
    /// <param name="left">The first checkpoint.</param>
    /// <param name="right">The second checkpoint.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> does not come after <paramref name="right"/>.</returns>
    public static bool operator <=(GlobalCheckpoint left, GlobalCheckpoint right) => left.CompareTo(right) <= 0;

    /// <summary>Compares two checkpoints.</summary>
    /// <param name="left">The first checkpoint.</param>
    /// <param name="right">The second checkpoint.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> does not come before <paramref name="right"/>.</returns>
    public static bool operator >=(GlobalCheckpoint left, GlobalCheckpoint right) => left.CompareTo(right) >= 0;

    /// <summary>Compares this checkpoint with another, transaction id first, then position.</summary>
    /// <param name="other">The checkpoint to compare with.</param>
    /// <returns>A negative number, zero or a positive number as this checkpoint comes before, equals or follows <paramref name="other"/>.</returns>
    public int CompareTo(GlobalCheckpoint other)
    {
        var byTransaction = TransactionId.CompareTo(other.TransactionId);
        return byTransaction != 0 ? byTransaction : Position.CompareTo(other.Position);
    }

    /// <summary>Compares this checkpoint with another object.</summary>
    /// <param name="obj">A <see cref="GlobalCheckpoint"/> or <see langword="null"/>.</param>
    /// <returns>The comparison result; <see langword="null"/> sorts first.</returns>
    /// <exception cref="ArgumentException"><paramref name="obj"/> is not a <see cref="GlobalCheckpoint"/>.</exception>
    public int CompareTo(object? obj) => obj switch
    {
        null => 1,
        GlobalCheckpoint other => CompareTo(other),
        _ => throw new ArgumentException(Messages.NotACheckpoint, nameof(obj)),
    };

    /// <summary>Returns the checkpoint as <c>"transactionId:position"</c>, the form <see cref="Parse"/> reads.</summary>
    /// <returns>The checkpoint as text.</returns>
    public override string ToString()
        => TransactionId.ToString(CultureInfo.InvariantCulture) + ":" + Position.ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads a checkpoint written by <see cref="ToString"/>.</summary>
    /// <param name="text">The text to read.</param>
    /// <returns>The checkpoint.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException"><paramref name="text"/> is not a checkpoint.</exception>
    public static GlobalCheckpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var checkpoint) ? checkpoint : throw new FormatException(Messages.InvalidCheckpoint(text));
    }

    /// <summary>Tries to read a checkpoint written by <see cref="ToString"/>.</summary>
    /// <param name="text">The text to read.</param>
    /// <param name="checkpoint">The checkpoint read, or <see cref="Start"/> when the text is not a checkpoint.</param>
    /// <returns><see langword="true"/> when <paramref name="text"/> was a checkpoint.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, out GlobalCheckpoint checkpoint)
    {
        checkpoint = default;
        if (text is null)
        {
            return false;
        }

        // Digits and one colon only: .NET's number parsing would also accept trailing NULs.
        var separator = text.IndexOf(':', StringComparison.Ordinal);
        if (separator <= 0
            || text.AsSpan().ContainsAnyExcept("0123456789:")
            || !ulong.TryParse(text.AsSpan(0, separator), NumberStyles.None, CultureInfo.InvariantCulture, out var transactionId)
            || !long.TryParse(text.AsSpan(separator + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var position))
        {
            return false;
        }

        checkpoint = new GlobalCheckpoint(transactionId, position);
        return true;
    }
}
