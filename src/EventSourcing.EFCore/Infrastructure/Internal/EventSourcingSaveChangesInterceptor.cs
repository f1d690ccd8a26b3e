using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Infrastructure.Internal;

/// <summary>
/// The SaveChanges interceptor registered by <c>UseEventSourcing</c>: it writes the context's staged events inside
/// the same SaveChanges (and transaction) as the user's changes, and settles them on every outcome, sync and async.
/// Each step delegates to the save's participants (<see cref="SaveParticipants"/>), resolved from the saving context
/// (a constructor dependency would be circular, since EF's loggers depend on the interceptors).
/// </summary>
internal sealed class EventSourcingSaveChangesInterceptor : SaveChangesInterceptor, IEventSourcingInterceptor
{
    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        var (context, save) = Of(eventData);
        var acceptsAll = save.TakeAcceptAllChangesOnSuccess();
        save.Abandon();                                         // 1. rows of an earlier save that did not happen
        if (save.Events.Begin(context) is { } inProgress)       // 2. plan and check the appends
        {
            save.Stage(context, inProgress, acceptsAll);        // 3. events, snapshots, outbox, inline projections
            if (inProgress.WritesDirectly)                      // 3'. nothing else changed: the rows are written here,
            {                                                   //     and EF's update pipeline is skipped
                WriteDirectly(context, save, inProgress);
                return InterceptionResult<int>.SuppressWithResult(0);
            }
        }

        return result;
    }

    public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(
        DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        var (context, save) = Of(eventData);
        var acceptsAll = save.TakeAcceptAllChangesOnSuccess();
        save.Abandon();
        if (await save.Events.BeginAsync(context, cancellationToken).ConfigureAwait(false) is { } inProgress)
        {
            await save.StageAsync(context, inProgress, acceptsAll, cancellationToken).ConfigureAwait(false);
            if (inProgress.WritesDirectly)
            {
                await WriteDirectlyAsync(context, save, inProgress, cancellationToken).ConfigureAwait(false);
                return InterceptionResult<int>.SuppressWithResult(0);
            }
        }

        return result;
    }

    /// <summary>
    /// Writes a save's event rows from SavingChanges. EF reports an outcome only for what follows SavingChanges, so a
    /// failure here is settled as <see cref="SaveChangesFailed"/> and <see cref="SaveChangesCanceled"/> settle EF's.
    /// </summary>
    private static void WriteDirectly(DbContext context, SaveParticipants save, SaveInProgress inProgress)
    {
        try
        {
            save.Events.Write(context, inProgress);
        }
        catch (OperationCanceledException exception)
        {
            save.Abandon()?.Telemetry?.Failed(exception);
            throw;
        }
        catch (Exception exception)
        {
            var abandoned = save.Abandon();
            var translated = save.Events.Fail(context, abandoned, exception);
            abandoned?.Telemetry?.Failed(translated ?? exception);
            if (translated is not null)
            {
                throw translated;
            }

            throw;
        }
    }

    /// <inheritdoc cref="WriteDirectly"/>
    private static async Task WriteDirectlyAsync(DbContext context, SaveParticipants save, SaveInProgress inProgress, CancellationToken cancellationToken)
    {
        try
        {
            await save.Events.WriteAsync(context, inProgress, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException exception)
        {
            save.Abandon()?.Telemetry?.Failed(exception);
            throw;
        }
        catch (Exception exception)
        {
            var abandoned = save.Abandon();
            var translated = await save.Events.FailAsync(context, abandoned, exception, cancellationToken).ConfigureAwait(false);
            abandoned?.Telemetry?.Failed(translated ?? exception);
            if (translated is not null)
            {
                throw translated;
            }

            throw;
        }
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        var (context, save) = Of(eventData);
        if (save.InProgress is not { } saved)
        {
            return result;
        }

        AppendWriter.CommitOwnTransaction(saved);               // 4. the transaction the save began for its Any streams
        saved.Telemetry?.Succeeded();
        if (!SaveParticipants.IsAccepted(saved))
        {
            save.AwaitAcceptance(context, saved);               // 5'. acceptAllChangesOnSuccess: false: settled by AcceptAllChanges
            return result + saved.CarriedRows;
        }

        save.Accept(saved);                                     // 5. settle: batches, aggregate versions, snapshot requests
        save.Snapshots.PruneSuperseded(context, saved);         // 6. older snapshots, outside a user transaction
        return result + saved.CarriedRows;
    }

    public override async ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        var (context, save) = Of(eventData);
        if (save.InProgress is not { } saved)
        {
            return result;
        }

        await AppendWriter.CommitOwnTransactionAsync(saved, cancellationToken).ConfigureAwait(false);
        saved.Telemetry?.Succeeded();
        if (!SaveParticipants.IsAccepted(saved))
        {
            save.AwaitAcceptance(context, saved);
            return result + saved.CarriedRows;
        }

        save.Accept(saved);
        await save.Snapshots.PruneSupersededAsync(context, saved).ConfigureAwait(false);
        return result + saved.CarriedRows;
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData)
    {
        var (context, save) = Of(eventData);
        var abandoned = save.Abandon();
        var translated = save.Events.Fail(context, abandoned, eventData.Exception);
        abandoned?.Telemetry?.Failed(translated ?? eventData.Exception);
        if (translated is not null)
        {
            throw translated;
        }
    }

    public override async Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        var (context, save) = Of(eventData);
        var abandoned = save.Abandon();
        var translated = await save.Events.FailAsync(context, abandoned, eventData.Exception, cancellationToken).ConfigureAwait(false);
        abandoned?.Telemetry?.Failed(translated ?? eventData.Exception);
        if (translated is not null)
        {
            throw translated;
        }
    }

    public override void SaveChangesCanceled(DbContextEventData eventData) => Of(eventData).Save.Abandon()?.Telemetry?.Failed(new OperationCanceledException());

    public override Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default)
    {
        Of(eventData).Save.Abandon()?.Telemetry?.Failed(new OperationCanceledException(cancellationToken));
        return Task.CompletedTask;
    }

    // Raised from inside EF's command batch: only release the lock here; the rows are removed at the next save.
    public override InterceptionResult ThrowingConcurrencyException(ConcurrencyExceptionEventData eventData, InterceptionResult result)
    {
        Of(eventData).Save.ReleaseGuard();
        return result;
    }

    public override ValueTask<InterceptionResult> ThrowingConcurrencyExceptionAsync(
        ConcurrencyExceptionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        Of(eventData).Save.ReleaseGuard();
        return ValueTask.FromResult(result);
    }

    private static (DbContext Context, SaveParticipants Save) Of(DbContextEventData eventData)
        => (eventData.Context!, eventData.Context!.GetService<SaveParticipants>());
}
