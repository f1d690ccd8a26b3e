using EventSourcing.EFCore.Diagnostics.Internal;
namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// The process-wide lock under which appends to a store without enforced unique indexes (EF InMemory) are checked,
/// given positions and written, so that two writers can never both pass a version check and commit order equals
/// position order. Held from SavingChanges until the save's outcome.
/// </summary>
internal static class InProcessAppendGuard
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static IDisposable Enter()
    {
        if (!Gate.Wait(Timeout))
        {
            throw new TimeoutException(Messages.GuardTimeout(Timeout));
        }

        return new Handle();
    }

    public static async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        if (!await Gate.WaitAsync(Timeout, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException(Messages.GuardTimeout(Timeout));
        }

        return new Handle();
    }

    private sealed class Handle : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Gate.Release();
            }
        }
    }
}
