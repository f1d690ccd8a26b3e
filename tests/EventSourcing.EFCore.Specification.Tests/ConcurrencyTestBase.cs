using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Optimistic concurrency on streams (DESIGN.md sections 5 and 8): racing writers with <c>Exactly(v)</c>, expected
/// versions ahead of the stream or on a missing stream, staged batches surviving failed and cancelled saves, and a
/// many-writer load test that must leave one stream gapless with every successful append stored once.
/// </summary>
public abstract class ConcurrencyTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private const int LoadWriters = 8;
    private const int LoadTarget = 2000;
    private static readonly TimeSpan LoadDeadline = TimeSpan.FromMinutes(3);

    [Test]
    public virtual async Task Two_writers_at_the_same_version_one_wins_and_the_loser_gets_StreamConcurrencyException([Values] bool async)
    {
        var stream = NewStream();
        var seeded = await SeedAsync(stream, 2);

        var outcomes = await RaceAsync(stream, async);

        var winners = outcomes.Where(o => o.Error is null).ToList();
        var losers = outcomes.Where(o => o.Error is not null).ToList();
        Assert.That(winners, Has.Count.EqualTo(1), "exactly one writer wins");
        Assert.That(losers, Has.Count.EqualTo(1), "exactly one writer loses");
        Assert.That(losers[0].Error, Is.TypeOf<StreamConcurrencyException>());
        var conflict = (StreamConcurrencyException)losers[0].Error!;
        Assert.That(conflict.StreamId, Is.EqualTo(stream));
        Assert.That(conflict.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(2)));
        Assert.That(conflict.ActualVersion, Is.EqualTo(3));

        var events = await ReadStreamAsync(stream);
        Assert.That(events.Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(events.Select(e => e.EventId), Is.EqualTo(seeded.Append(winners[0].EventId)));
    }

    [Test]
    public virtual async Task The_loser_of_a_race_rereads_the_version_and_retries_successfully_leaving_the_stream_gapless([Values] bool async)
    {
        var stream = NewStream();
        var seeded = await SeedAsync(stream, 2);
        var outcomes = await RaceAsync(stream, async);
        var winner = outcomes.Single(o => o.Error is null);
        var loser = outcomes.Single(o => o.Error is not null);
        Assert.That(loser.Error, Is.TypeOf<StreamConcurrencyException>());

        // Reload and append again (a fresh unit of work): the losing attempt's event id was not stored, so it can be reused.
        await using (var retry = CreateContext())
        {
            var version = await retry.Events().GetStreamVersionAsync(stream);
            Assert.That(version, Is.EqualTo(((StreamConcurrencyException)loser.Error!).ActualVersion));
            retry.Events().Append(stream, ExpectedVersion.Exactly(version!.Value), new EventData(new Deposited(99)) { EventId = loser.EventId });
            await SaveAsync(retry, async);
        }

        var events = await ReadStreamAsync(stream);
        Assert.That(events.Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3, 4 }));
        Assert.That(events.Select(e => e.EventId), Is.EqualTo(seeded.Append(winner.EventId).Append(loser.EventId)));
        Assert.That(events[3].Data, Is.EqualTo(new Deposited(99)));
    }

    [Test]
    public virtual async Task An_expected_version_ahead_of_the_stream_throws_StreamConcurrencyException_and_writes_nothing([Values] bool async)
    {
        var stream = NewStream();
        var seeded = await SeedAsync(stream, 2);
        var customer = new Customer { Name = "Cy", Email = Guid.NewGuid() + "@example.com" };
        await using (var db = CreateContext())
        {
            db.Customers.Add(customer);
            db.Events().Append(stream, ExpectedVersion.Exactly(5), new Deposited(1));
            var conflict = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
            Assert.That(conflict!.StreamId, Is.EqualTo(stream));
            Assert.That(conflict.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(5)));
            Assert.That(conflict.ActualVersion, Is.EqualTo(2));
        }

        var events = await ReadStreamAsync(stream);
        Assert.That(events.Select(e => e.EventId), Is.EqualTo(seeded));
        await using var check = CreateContext();
        Assert.That(await check.Customers.AnyAsync(c => c.Id == customer.Id), Is.False);
    }

    [Test]
    public virtual async Task An_exact_expected_version_on_a_missing_stream_throws_StreamConcurrencyException_with_no_actual_version([Values] bool async)
    {
        var stream = NewStream();
        await using (var db = CreateContext())
        {
            db.Events().Append(stream, ExpectedVersion.Exactly(3), new Deposited(1));
            var conflict = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
            Assert.That(conflict!.StreamId, Is.EqualTo(stream));
            Assert.That(conflict.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(3)));
            Assert.That(conflict.ActualVersion, Is.Null);
        }

        await using var check = CreateContext();
        Assert.That(await check.Events().GetStreamVersionAsync(stream), Is.Null);
        Assert.That(await ReadStreamAsync(stream), Is.Empty);
    }

    [Test]
    public virtual async Task A_failed_save_keeps_its_batch_staged_and_after_a_cancelled_save_the_next_save_writes_each_event_once([Values] bool async)
    {
        var stream = NewStream();
        var other = NewStream();
        var ids = new[] { Guid.CreateVersion7(), Guid.CreateVersion7() };
        var otherId = Guid.CreateVersion7();
        await using var db = CreateContext();
        db.Events().Append(
            stream,
            ExpectedVersion.NoStream,
            new EventData(new Deposited(1)) { EventId = ids[0] },
            new EventData(new Deposited(2)) { EventId = ids[1] });
        db.Events().Append(other, ExpectedVersion.Exactly(1), new EventData(new Withdrawn(1, "fee")) { EventId = otherId });

        // 1. The save fails: the second batch expects a version the other stream does not have yet.
        var conflict = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
        Assert.That(conflict!.StreamId, Is.EqualTo(other));
        Assert.That(conflict.ActualVersion, Is.Null);
        Assert.That(await VersionAsync(stream), Is.Null, "a failed save writes nothing");

        // 2. Another writer makes the expectation true; the failing context itself changes nothing.
        var otherSeed = await SeedAsync(other, 1, ExpectedVersion.NoStream);

        // 3. A save with an already cancelled token writes nothing either.
        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            Assert.CatchAsync<OperationCanceledException>(() => db.SaveChangesAsync(cancelled.Token));
        }

        Assert.That(await VersionAsync(stream), Is.Null, "a cancelled save writes nothing");
        Assert.That(await VersionAsync(other), Is.EqualTo(1));

        // 4. The plain retry writes both still-staged batches, each event once.
        await SaveAsync(db, async);

        var events = await ReadStreamAsync(stream);
        Assert.That(events.Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(events.Select(e => e.EventId), Is.EqualTo(ids));
        var otherEvents = await ReadStreamAsync(other);
        Assert.That(otherEvents.Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(otherEvents.Select(e => e.EventId), Is.EqualTo(new[] { otherSeed[0], otherId }));
        var all = await ReadAllAsync();
        Assert.That(all.Select(e => e.EventId), Is.EquivalentTo(ids.Append(otherSeed[0]).Append(otherId)));
    }

    [Test]
    public virtual async Task Eight_writers_racing_on_one_stream_to_2000_appends_leave_it_gapless_with_each_success_stored_once()
    {
        Assume.That(Fixture.SupportsConcurrentWriters, Is.True, "the provider does not allow several contexts to write at once");

        var stream = NewStream();
        var successes = new ConcurrentBag<Guid>();
        var unexpected = new ConcurrentQueue<Exception>();
        var attempts = 0;
        var conflicts = 0;
        using var deadline = new CancellationTokenSource(LoadDeadline);
        var token = deadline.Token;

        async Task WriteUntilFullAsync(bool async)
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    await using var db = CreateContext();
                    var version = await db.Events().GetStreamVersionAsync(stream, token) ?? 0;
                    if (version >= LoadTarget)
                    {
                        return;
                    }

                    var id = Guid.CreateVersion7();
                    db.Events().Append(stream, ExpectedVersion.Exactly(version), new EventData(new Deposited(version + 1)) { EventId = id });
                    Interlocked.Increment(ref attempts);
                    try
                    {
                        if (async)
                        {
                            await db.SaveChangesAsync(token);
                        }
                        else
                        {
                            db.SaveChanges();
                        }

                        successes.Add(id);
                    }
                    catch (StreamConcurrencyException)
                    {
                        Interlocked.Increment(ref conflicts);
                    }
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    // Anything but a version conflict is a failure of the test: record it and stop every writer.
                    unexpected.Enqueue(ex);
                    await deadline.CancelAsync();
                    return;
                }
            }
        }

        var stopwatch = Stopwatch.StartNew();
        // Half the writers save through the sync path, half through the async one.
        var writers = Enumerable.Range(0, LoadWriters).Select(i => Task.Run(() => WriteUntilFullAsync(async: i % 2 == 1))).ToArray();
        await Task.WhenAll(writers);
        stopwatch.Stop();

        await TestContext.Out.WriteLineAsync(
            $"{GetType().Name}: {LoadWriters} writers, {successes.Count} appends, {attempts} attempts, {conflicts} conflicts, "
            + $"{unexpected.Count} other failures, {stopwatch.Elapsed.TotalSeconds:F1} s "
            + $"({successes.Count / Math.Max(stopwatch.Elapsed.TotalSeconds, 0.001):F0} appends/s)");

        Assert.That(
            unexpected.Select(e => e.GetType().FullName + ": " + e.Message),
            Is.Empty,
            "every failed append must be a StreamConcurrencyException");
        Assert.That(deadline.IsCancellationRequested, Is.False, $"the writers did not finish within {LoadDeadline}");
        Assert.That(attempts, Is.EqualTo(successes.Count + conflicts), "every attempt either succeeded or lost a version race");
        Assert.That(successes, Has.Count.EqualTo(LoadTarget));

        var events = await ReadStreamAsync(stream);
        Assert.That(events.Select(e => e.Version), Is.EqualTo(Enumerable.Range(1, LoadTarget).Select(v => (long)v)), "versions 1..n, gapless");
        Assert.That(events.Select(e => e.EventId), Is.Unique);
        Assert.That(events.Select(e => e.EventId), Is.EquivalentTo(successes), "the stored ids are exactly the successful appends");
        Assert.That(events.Select(e => e.Data), Is.EqualTo(events.Select(e => new Deposited(e.Version))), "each event was decided at the version it got");

        var all = await ReadAllAsync();
        Assert.That(all.Select(e => e.Version), Is.EqualTo(events.Select(e => e.Version)), "read-all returns the stream in version order");
    }

    private async Task<long?> VersionAsync(StreamId stream)
    {
        await using var db = CreateContext();
        return await db.Events().GetStreamVersionAsync(stream);
    }

    /// <summary>
    /// Two contexts read the same stream version and then save an <c>Exactly(version)</c> append at the same time.
    /// </summary>
    private async Task<WriterOutcome[]> RaceAsync(StreamId stream, bool async)
    {
        await using var first = CreateContext();
        await using var second = CreateContext();
        var contexts = new[] { first, second };
        var ids = new Guid[contexts.Length];
        for (var i = 0; i < contexts.Length; i++)
        {
            var version = await contexts[i].Events().GetStreamVersionAsync(stream) ?? 0;
            ids[i] = Guid.CreateVersion7();
            contexts[i].Events().Append(stream, ExpectedVersion.Exactly(version), new EventData(new Deposited(10 + i)) { EventId = ids[i] });
        }

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var saves = contexts.Select((db, i) => Task.Run(async () =>
        {
            await start.Task;
            try
            {
                await SaveAsync(db, async);
                return new WriterOutcome(ids[i], null);
            }
            catch (DbUpdateException ex)
            {
                return new WriterOutcome(ids[i], ex);
            }
        })).ToArray();
        start.SetResult();
        return await Task.WhenAll(saves);
    }

    private sealed record WriterOutcome(Guid EventId, Exception? Error);
}
