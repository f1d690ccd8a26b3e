using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// The inline projections' part of a save: their handlers run over the save's events (<see cref="InlineProjectionApplier"/>),
/// last, so they see every row the save adds; their changes to the change tracker are undone if the save does not happen.
/// </summary>
internal sealed class InlineProjectionSaveParticipant : ISaveParticipant
{
    public void Stage(DbContext context, SaveInProgress save) => InlineProjectionApplier.Apply(context, save);

    public Task StageAsync(DbContext context, SaveInProgress save, CancellationToken cancellationToken)
        => InlineProjectionApplier.ApplyAsync(context, save, cancellationToken);

    public void Accept(SaveInProgress save) => save.RestoreProjections = null;

    public void Abandon(SaveInProgress save)
    {
        var restore = save.RestoreProjections;
        save.RestoreProjections = null;
        restore?.Invoke();
    }
}
