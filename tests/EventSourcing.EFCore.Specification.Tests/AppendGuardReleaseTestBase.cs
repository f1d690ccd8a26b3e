using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using NUnit.Framework;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Whatever fails between the library's SavingChanges and EF's save — a user's SaveChanges interceptor, user code run
/// by EF's DetectChanges — nothing the library takes for the save stays held (EF InMemory's process-wide append guard,
/// PostgreSQL's transaction for <see cref="ExpectedVersion.Any"/> locks), even when the failed context is dropped without
/// Dispose: the next append in the process completes at once, and the failed save wrote nothing.
/// </summary>
public abstract class AppendGuardReleaseTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_user_interceptor_that_throws_in_SavingChanges_holds_nothing_even_without_Dispose(bool async)
    {
        var stream = NewStream();
        await FailAndDropAsync(stream, async);

        await AssertNextAppendCompletesAsync(stream, expectedVersions: [1]);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_failure_in_DetectChanges_at_any_point_of_the_save_holds_nothing(bool async)
    {
        var stream = NewStream();
        var saved = 0;
        for (var failAt = 1; failAt <= 4; failAt++)
        {
            var db = CreateContext();
            db.Events().Append(stream, ExpectedVersion.Any, new Deposited(failAt));
            var calls = 0;
            var fail = failAt;
            db.ChangeTracker.DetectedAllChanges += (_, _) =>
            {
                if (++calls == fail)
                {
                    throw new UserCodeFailure();
                }
            };
            try
            {
                await SaveAsync(db, async);
                saved++;
            }
            catch (UserCodeFailure)
            {
                // The user's code failed this save; what matters is what it leaves behind.
            }

            TestContext.Out.WriteLine($"DetectChanges failing at call {failAt}: {(calls >= fail ? "save failed" : "save succeeded")} after {calls} calls");
            await AssertNextAppendCompletesAsync(stream, expectedVersions: [.. Enumerable.Range(1, saved + failAt).Select(v => (long)v)]);
        }

        Assert.That(saved, Is.LessThan(4), "at least the first DetectChanges failure failed its save");
    }

    private async Task FailAndDropAsync(StreamId stream, bool async)
    {
        // Registered with AddInterceptors, as users do: EF runs it with the library's own interceptor.
        var db = new TestDbContext(new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions()).AddInterceptors(new ThrowingInterceptor()).Options);
        db.Events().Append(stream, ExpectedVersion.Any, new Deposited(1));
        if (async)
        {
            Assert.ThrowsAsync<UserCodeFailure>(() => db.SaveChangesAsync());
        }
        else
        {
            Assert.Throws<UserCodeFailure>(() => db.SaveChanges());
        }

        // Dropped without Dispose: nothing may wait for a finalizer.
        GC.KeepAlive(db);
    }

    /// <summary>A second context appends to the stream within the deadline; the stream then has exactly these versions.</summary>
    private async Task AssertNextAppendCompletesAsync(StreamId stream, long[] expectedVersions)
    {
        await using (var other = CreateContext())
        {
            var append = Task.Run(() => other.Events().AppendAsync(stream, ExpectedVersion.Any, [new Withdrawn(1, "next")]));
            Assert.That(await append.WaitAsync(Deadline), Is.EqualTo(expectedVersions[^1]), "the next append was not held back");
        }

        Assert.That((await ReadStreamAsync(stream)).Select(e => e.Version), Is.EqualTo(expectedVersions), "the failed save wrote nothing");
    }

    private sealed class UserCodeFailure() : Exception("the user's code failed");

    private sealed class ThrowingInterceptor : SaveChangesInterceptor
    {
        public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
            => throw new UserCodeFailure();

        public override ValueTask<InterceptionResult<int>> SavingChangesAsync(
            DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
            => throw new UserCodeFailure();
    }
}
