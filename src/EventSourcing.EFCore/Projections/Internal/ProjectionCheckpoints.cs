using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>Creates and reads the committed checkpoint rows of catch-up projections.</summary>
internal static class ProjectionCheckpoints
{
    /// <summary>Creates the projection's checkpoint row at the start of the store if it does not exist yet.</summary>
    public static async Task EnsureAsync(DbContext context, string name, CancellationToken cancellationToken)
    {
        var checkpoints = context.Set<ProjectionCheckpoint>();
        if (await checkpoints.AsNoTracking().AnyAsync(c => c.Projection == name, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        context.ChangeTracker.Clear();
        var entry = checkpoints.Add(new ProjectionCheckpoint { Projection = name, UpdatedAt = Clock(context).GetUtcNow() });
        try
        {
            await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateException)
        {
            // Another runner created it first; anything else is a real failure.
            entry.State = EntityState.Detached;
            if (!await checkpoints.AsNoTracking().AnyAsync(c => c.Projection == name, cancellationToken).ConfigureAwait(false))
            {
                throw;
            }
        }
        finally
        {
            entry.State = EntityState.Detached;
        }
    }

    /// <summary>Reads the projection's committed checkpoint row, untracked, or null when it never ran.</summary>
    public static Task<ProjectionCheckpoint?> FindAsync(DbContext context, string name, CancellationToken cancellationToken)
        => context.Set<ProjectionCheckpoint>().AsNoTracking().FirstOrDefaultAsync(c => c.Projection == name, cancellationToken);

    /// <summary>Gets the clock of the context's event store options.</summary>
    public static TimeProvider Clock(DbContext context)
        => context.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!.TimeProvider;
}
