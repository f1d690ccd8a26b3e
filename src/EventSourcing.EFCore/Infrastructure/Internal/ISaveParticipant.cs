using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Infrastructure.Internal;

/// <summary>
/// One capability's part of a SaveChanges that appends events (events, snapshots, outbox, inline projections). The
/// participants run in a fixed order (<see cref="SaveParticipants"/>) once the events of the save are planned and checked:
/// each adds its rows to <see cref="SaveInProgress.Entries"/> (removed if the save does not happen), settles its state
/// when EF accepts the save, and undoes what it changed outside those rows when the save does not happen.
/// </summary>
internal interface ISaveParticipant
{
    /// <summary>Adds this capability's part of the save, before EF detects changes.</summary>
    void Stage(DbContext context, SaveInProgress save);

    /// <inheritdoc cref="Stage"/>
    Task StageAsync(DbContext context, SaveInProgress save, CancellationToken cancellationToken);

    /// <summary>EF accepted the save's changes (the rows are committed or part of the caller's transaction): settle.</summary>
    void Accept(SaveInProgress save);

    /// <summary>
    /// The save did not happen, or EF did not accept it and it is saved again: undo what <see cref="Stage"/> changed
    /// outside the save's tracked rows, so that the next save stages this part once.
    /// </summary>
    void Abandon(SaveInProgress save);
}
