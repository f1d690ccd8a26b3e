using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Infrastructure.Internal;

/// <summary>
/// The SaveChanges interceptor registered by <c>UseEventSourcing</c>: it writes the context's staged events inside
/// the same SaveChanges (and transaction) as the user's changes, and settles them on every outcome, sync and async.
/// Stateless: the per-context <see cref="AppendWriter"/> is resolved from the saving context (a constructor dependency
/// would be circular, since EF's loggers depend on the interceptors).
/// </summary>
internal sealed class EventSourcingSaveChangesInterceptor : SaveChangesInterceptor
{
    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Writer(eventData).BeforeSave(eventData.Context!);
        return result;
    }

    public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(
        DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await Writer(eventData).BeforeSaveAsync(eventData.Context!, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        var writer = Writer(eventData);
        var carried = writer.AfterSave(eventData.Context!);
        writer.PruneSnapshots(eventData.Context!);
        return result + carried;
    }

    public override async ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        var writer = Writer(eventData);
        var carried = writer.AfterSave(eventData.Context!);
        await writer.PruneSnapshotsAsync(eventData.Context!).ConfigureAwait(false);
        return result + carried;
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData)
    {
        if (Writer(eventData).Fail(eventData.Context!, eventData.Exception) is { } translated)
        {
            throw translated;
        }
    }

    public override async Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        if (await Writer(eventData).FailAsync(eventData.Context!, eventData.Exception, cancellationToken).ConfigureAwait(false) is { } translated)
        {
            throw translated;
        }
    }

    public override void SaveChangesCanceled(DbContextEventData eventData) => Writer(eventData).Abandon();

    public override Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default)
    {
        Writer(eventData).Abandon();
        return Task.CompletedTask;
    }

    // Raised from inside EF's command batch: only release the lock here; the rows are removed at the next save.
    public override InterceptionResult ThrowingConcurrencyException(ConcurrencyExceptionEventData eventData, InterceptionResult result)
    {
        Writer(eventData).ReleaseGuard();
        return result;
    }

    public override ValueTask<InterceptionResult> ThrowingConcurrencyExceptionAsync(
        ConcurrencyExceptionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        Writer(eventData).ReleaseGuard();
        return ValueTask.FromResult(result);
    }

    private static AppendWriter Writer(DbContextEventData eventData) => eventData.Context!.GetService<AppendWriter>();
}
