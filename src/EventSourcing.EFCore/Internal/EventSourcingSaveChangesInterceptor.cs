using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace EventSourcing.EFCore.Internal;

/// <summary>
/// The SaveChanges interceptor registered by <c>UseEventSourcing</c>: it writes the context's staged events inside
/// the same SaveChanges (and transaction) as the user's changes, and settles them on every outcome, sync and async.
/// </summary>
internal sealed class EventSourcingSaveChangesInterceptor(AppendWriter writer) : SaveChangesInterceptor
{
    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        writer.BeforeSave(eventData.Context!);
        return result;
    }

    public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(
        DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await writer.BeforeSaveAsync(eventData.Context!, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        writer.AfterSave(eventData.Context!);
        return result;
    }

    public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        writer.AfterSave(eventData.Context!);
        return ValueTask.FromResult(result);
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData)
    {
        if (writer.Fail(eventData.Context!, eventData.Exception) is { } translated)
        {
            throw translated;
        }
    }

    public override async Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        if (await writer.FailAsync(eventData.Context!, eventData.Exception, cancellationToken).ConfigureAwait(false) is { } translated)
        {
            throw translated;
        }
    }

    public override void SaveChangesCanceled(DbContextEventData eventData) => writer.Abandon();

    public override Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default)
    {
        writer.Abandon();
        return Task.CompletedTask;
    }

    // Raised from inside EF's command batch: only release the lock here; the rows are removed at the next save.
    public override InterceptionResult ThrowingConcurrencyException(ConcurrencyExceptionEventData eventData, InterceptionResult result)
    {
        writer.ReleaseGuard();
        return result;
    }

    public override ValueTask<InterceptionResult> ThrowingConcurrencyExceptionAsync(
        ConcurrencyExceptionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        writer.ReleaseGuard();
        return ValueTask.FromResult(result);
    }
}
