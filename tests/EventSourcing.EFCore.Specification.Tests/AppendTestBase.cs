using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>Appending: staged by Append, written by the user's SaveChanges, versions 1..n, with the user's entities.</summary>
public abstract class AppendTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    [Test]
    public virtual async Task Append_then_SaveChanges_writes_events_at_versions_1_to_n([Values] bool async)
    {
        var stream = NewStream();
        await using (var db = CreateContext())
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10), new Withdrawn(3, "atm"), new Deposited(5));
            await SaveAsync(db, async);
        }

        var events = await ReadStreamAsync(stream);
        Assert.That(events.Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(events.Select(e => e.Data), Is.EqualTo(new object[] { new Deposited(10), new Withdrawn(3, "atm"), new Deposited(5) }));
        Assert.That(events.Select(e => e.EventType), Is.EqualTo(new[] { "test.deposited", "test.withdrawn", "test.deposited" }));
        Assert.That(events[1].EventTypeVersion, Is.EqualTo(2));
        Assert.That(events.All(e => e.StreamId == stream), Is.True);
        Assert.That(events.Select(e => e.GlobalPosition), Is.Ordered.Ascending);
    }

    [Test]
    public virtual async Task AppendAsync_returns_the_new_stream_version()
    {
        var stream = NewStream();
        await using var db = CreateContext();
        Assert.That(await db.Events().AppendAsync(stream, ExpectedVersion.NoStream, [new Deposited(1), new Deposited(2)]), Is.EqualTo(2));
        Assert.That(await db.Events().AppendAsync(stream, ExpectedVersion.Exactly(2), [new Deposited(3)]), Is.EqualTo(3));
        Assert.That(await db.Events().GetStreamVersionAsync(stream), Is.EqualTo(3));
    }

    [Test]
    public virtual async Task Events_and_user_entities_commit_in_one_SaveChanges([Values] bool async)
    {
        var stream = NewStream();
        var customer = new Customer { Name = "Ada", Email = Guid.NewGuid() + "@example.com" };
        await using (var db = CreateContext())
        {
            db.Customers.Add(customer);
            db.Events().Append(stream, ExpectedVersion.NoStream, new Renamed("Ada"));
            await SaveAsync(db, async);
        }

        await using var check = CreateContext();
        Assert.That(await check.Customers.AnyAsync(c => c.Id == customer.Id), Is.True);
        Assert.That(await check.Events().GetStreamVersionAsync(stream), Is.EqualTo(1));
    }

    [Test]
    public virtual async Task A_version_conflict_writes_nothing_not_even_the_user_entities([Values] bool async)
    {
        var stream = NewStream();
        await SeedAsync(stream, 2);
        var customer = new Customer { Name = "Bob", Email = Guid.NewGuid() + "@example.com" };
        await using (var db = CreateContext())
        {
            db.Customers.Add(customer);
            db.Events().Append(stream, ExpectedVersion.Exactly(1), new Deposited(1));
            var ex = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
            Assert.That(ex!.StreamId, Is.EqualTo(stream));
            Assert.That(ex.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(1)));
            Assert.That(ex.ActualVersion, Is.EqualTo(2));
        }

        await using var check = CreateContext();
        Assert.That(await check.Customers.AnyAsync(c => c.Id == customer.Id), Is.False);
        Assert.That(await check.Events().GetStreamVersionAsync(stream), Is.EqualTo(2));
    }

    [Test]
    public virtual async Task Any_appends_after_the_current_version_and_creates_missing_streams([Values] bool async)
    {
        var existing = NewStream();
        var fresh = NewStream();
        await SeedAsync(existing, 3);
        await using (var db = CreateContext())
        {
            db.Events().Append(existing, ExpectedVersion.Any, new Deposited(4));
            db.Events().Append(fresh, ExpectedVersion.Any, new Deposited(1));
            await SaveAsync(db, async);
        }

        Assert.That((await ReadStreamAsync(existing)).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3, 4 }));
        Assert.That((await ReadStreamAsync(fresh)).Select(e => e.Version), Is.EqualTo(new long[] { 1 }));
    }

    [Test]
    public virtual async Task StreamExists_appends_to_an_existing_stream_and_rejects_a_missing_one([Values] bool async)
    {
        var existing = NewStream();
        var missing = NewStream();
        await SeedAsync(existing, 1);
        await using (var db = CreateContext())
        {
            db.Events().Append(existing, ExpectedVersion.StreamExists, new Deposited(2));
            await SaveAsync(db, async);
        }

        await using (var db = CreateContext())
        {
            db.Events().Append(missing, ExpectedVersion.StreamExists, new Deposited(1));
            var ex = Assert.ThrowsAsync<StreamNotFoundException>(() => SaveAsync(db, async));
            Assert.That(ex!.StreamId, Is.EqualTo(missing));
        }

        Assert.That((await ReadStreamAsync(existing)).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(await ReadStreamAsync(missing), Is.Empty);
    }

    [Test]
    public virtual async Task Exactly_zero_means_NoStream()
    {
        Assert.That(ExpectedVersion.Exactly(0), Is.EqualTo(ExpectedVersion.NoStream));
        var stream = NewStream();
        await using var db = CreateContext();
        Assert.That(await db.Events().AppendAsync(stream, ExpectedVersion.Exactly(0), [new Deposited(1)]), Is.EqualTo(1));
        Assert.ThrowsAsync<StreamConcurrencyException>(() => db.Events().AppendAsync(stream, ExpectedVersion.Exactly(0), [new Deposited(2)]));
    }

    [Test]
    public virtual async Task Several_streams_and_several_batches_of_one_stream_commit_in_one_SaveChanges([Values] bool async)
    {
        var a = NewStream();
        var b = NewStream("order");
        await using (var db = CreateContext())
        {
            db.Events().Append(a, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
            db.Events().Append(b, ExpectedVersion.NoStream, new Renamed("x"));
            db.Events().Append(a, ExpectedVersion.Exactly(2), new Deposited(3));
            db.Events().Append(a, ExpectedVersion.Any, new Deposited(4));
            await SaveAsync(db, async);
        }

        Assert.That((await ReadStreamAsync(a)).Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(new decimal[] { 1, 2, 3, 4 }));
        Assert.That((await ReadStreamAsync(b)).Select(e => e.Version), Is.EqualTo(new long[] { 1 }));
    }

    [Test]
    public virtual async Task A_batch_that_contradicts_an_earlier_batch_of_the_same_save_fails_the_whole_save([Values] bool async)
    {
        var a = NewStream();
        var b = NewStream();
        await using (var db = CreateContext())
        {
            db.Events().Append(b, ExpectedVersion.NoStream, new Deposited(1));
            db.Events().Append(a, ExpectedVersion.NoStream, new Deposited(1));
            db.Events().Append(a, ExpectedVersion.NoStream, new Deposited(2));
            var ex = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
            Assert.That(ex!.StreamId, Is.EqualTo(a));
            Assert.That(ex.ActualVersion, Is.EqualTo(1));
        }

        Assert.That(await ReadStreamAsync(a), Is.Empty);
        Assert.That(await ReadStreamAsync(b), Is.Empty);
    }

    [Test]
    public virtual async Task A_staged_batch_is_written_by_the_next_SaveChanges_only_once()
    {
        var stream = NewStream();
        await using var db = CreateContext();
        db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1));
        await db.SaveChangesAsync();
        await db.SaveChangesAsync();
        db.Customers.Add(new Customer { Name = "x", Email = Guid.NewGuid() + "@example.com" });
        await db.SaveChangesAsync();
        Assert.That(await ReadStreamAsync(stream), Has.Count.EqualTo(1));
        Assert.That(db.ChangeTracker.Entries<Storage.StoredEvent>(), Is.Empty, "event rows are not left tracked after the save");
    }

    [Test]
    public virtual async Task AppendAsync_that_fails_does_not_leave_its_batch_staged()
    {
        var stream = NewStream();
        await SeedAsync(stream, 1);
        await using var db = CreateContext();
        Assert.ThrowsAsync<StreamConcurrencyException>(() => db.Events().AppendAsync(stream, ExpectedVersion.NoStream, [new Deposited(9)]));
        db.Customers.Add(new Customer { Name = "later", Email = Guid.NewGuid() + "@example.com" });
        Assert.That(await db.SaveChangesAsync(), Is.EqualTo(1));
        Assert.That(await ReadStreamAsync(stream), Has.Count.EqualTo(1));
    }

    [Test]
    public virtual async Task AppendAsync_honours_cancellation_and_writes_nothing()
    {
        var stream = NewStream();
        await using var db = CreateContext();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        Assert.That(
            async () => await db.Events().AppendAsync(stream, ExpectedVersion.NoStream, [new Deposited(1)], cts.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(await ReadStreamAsync(stream), Is.Empty);
        Assert.That(await db.Events().AppendAsync(stream, ExpectedVersion.NoStream, [new Deposited(1)]), Is.EqualTo(1));
    }

    [Test]
    public virtual async Task ClearStaged_discards_a_failed_batch_so_the_next_save_does_not_retry_it([Values] bool async)
    {
        var stream = NewStream();
        await SeedAsync(stream, 1);
        await using var db = CreateContext();
        db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(9));
        Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
        Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async), "a failed batch stays staged");

        db.Events().ClearStaged();
        db.Events().Append(stream, ExpectedVersion.Exactly(1), new Deposited(2));
        await SaveAsync(db, async);
        Assert.That((await ReadStreamAsync(stream)).Select(e => ((Deposited)e.Data).Amount), Is.EqualTo(new decimal[] { 1, 2 }));
    }
}
