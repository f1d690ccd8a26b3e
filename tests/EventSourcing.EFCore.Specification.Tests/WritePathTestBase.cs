using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// The write path as users hit it: every save either writes its events exactly once or fails with a typed exception
/// before anything is written.
/// </summary>
public abstract class WritePathTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    protected static async Task<int> SaveWithoutAcceptingAsync(TestDbContext db, bool async)
        => async ? await db.SaveChangesAsync(acceptAllChangesOnSuccess: false) : db.SaveChanges(acceptAllChangesOnSuccess: false);

    [Test]
    public virtual async Task SaveChanges_without_accepting_settles_nothing_until_AcceptAllChanges([Values] bool async)
    {
        var stream = NewStream();
        var account = BankAccount.Open(Guid.NewGuid(), "ada");
        account.Deposit(5);
        var ticket = Ticket.Open("printer");
        await using (var db = CreateContext())
        {
            db.Aggregates<BankAccount>().Add(account);
            db.Tickets.Add(ticket);
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1));
            Assert.That(await SaveWithoutAcceptingAsync(db, async), Is.EqualTo(5)); // 4 event rows and the ticket row

            // Written, not accepted: nothing is settled (a retrying execution strategy may roll back and save again).
            Assert.That(account.Version, Is.Zero);
            Assert.That(account.PendingEvents, Has.Count.EqualTo(2));
            Assert.That(ticket.Version, Is.EqualTo(1), "a mapped Version is a column of the row being written");
            Assert.That(ticket.PendingEvents, Has.Count.EqualTo(1));

            db.ChangeTracker.AcceptAllChanges();
            Assert.That(account.Version, Is.EqualTo(2));
            Assert.That(account.PendingEvents, Is.Empty);
            Assert.That(ticket.Version, Is.EqualTo(1));
            Assert.That(ticket.PendingEvents, Is.Empty);
            Assert.That(db.ChangeTracker.Entries<Storage.StoredEvent>(), Is.Empty);

            // Accepted: a later save writes none of them again.
            Assert.That(await SaveAsync(db, async), Is.Zero);
        }

        Assert.That((await ReadStreamAsync(stream)).Select(e => e.Version), Is.EqualTo(new long[] { 1 }));
        Assert.That((await ReadStreamAsync(account.StreamId)).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That((await ReadStreamAsync(ticket.StreamId)).Select(e => e.Version), Is.EqualTo(new long[] { 1 }));
        await using var check = CreateContext();
        Assert.That((await check.Tickets.SingleAsync(t => t.Id == ticket.Id)).Version, Is.EqualTo(1));
    }

    [Test]
    public virtual async Task A_removed_entity_with_pending_events_has_its_events_written_with_the_delete([Values] bool async)
    {
        var ticket = Ticket.Open("printer");
        await using (var db = CreateContext())
        {
            db.Tickets.Add(ticket);
            await SaveAsync(db, async);
            ticket.Close("fixed");
            db.Tickets.Remove(ticket);
            await SaveAsync(db, async);
            Assert.That(ticket.PendingEvents, Is.Empty);
            Assert.That(ticket.Version, Is.EqualTo(2));
        }

        Assert.That((await ReadStreamAsync(ticket.StreamId)).Select(e => e.Data), Is.EqualTo(new object[] { new TicketOpened("printer"), new TicketClosed("fixed") }));
        await using var check = CreateContext();
        Assert.That(await check.Tickets.AnyAsync(t => t.Id == ticket.Id), Is.False);
    }

    /// <summary>Random expected versions near the largest version: an append that would pass it fails at Append, typed, nothing staged.</summary>
    [Test]
    public virtual async Task An_expected_version_that_would_overflow_fails_at_Append_and_nothing_is_written([Values] bool async)
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed: {seed}");
        var random = new Random(seed);
        var stream = NewStream();
        await using var db = CreateContext();
        for (var i = 0; i < 20; i++)
        {
            var count = random.Next(1, 5);
            var expected = long.MaxValue - random.Next(0, count);
            var ex = Assert.Throws<ArgumentOutOfRangeException>(
                () => db.Events().Append(stream, ExpectedVersion.Exactly(expected), Enumerable.Range(0, count).Select(n => (object)new Deposited(n))));
            Assert.That(ex!.ParamName, Is.EqualTo("expectedVersion"));
            Assert.That(ex.Message, Does.Contain(stream.ToString()));
        }

        // The largest version that still fits is accepted at Append (the store then reports the stream is behind).
        db.Events().Append(stream, ExpectedVersion.Exactly(long.MaxValue - 1), new Deposited(1));
        Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
        db.Events().ClearStaged();

        // So is a batch of several events whose last one is at the largest version (one save, one or two appends).
        db.Events().Append(stream, ExpectedVersion.Exactly(long.MaxValue - 3), new Deposited(1), new Deposited(2));
        db.Events().Append(stream, ExpectedVersion.Exactly(long.MaxValue - 1), new Deposited(3));
        Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
        db.Events().ClearStaged();
        db.Events().Append(stream, ExpectedVersion.Exactly(long.MaxValue - 2), new Deposited(1), new Deposited(2));
        Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
        db.Events().ClearStaged();
        Assert.That(await db.Events().GetStreamVersionAsync(stream), Is.Null);
        Assert.That(await ReadAllAsync(), Is.Empty);
    }

    /// <summary>
    /// Random strings with a NUL somewhere: rejected at Append in a payload string or a metadata key or value, naming the
    /// field, before any I/O and identically on both providers; an escaped backslash before "u0000" is not a NUL.
    /// </summary>
    [Test]
    public virtual async Task A_NUL_character_in_a_payload_or_metadata_is_rejected_at_Append_naming_the_field([Values] bool async)
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed: {seed}");
        var random = new Random(seed);
        var stream = NewStream();
        await using var db = CreateContext();
        for (var i = 0; i < 20; i++)
        {
            var text = RandomText(random);
            var withNul = text.Insert(random.Next(text.Length + 1), "\0");
            var payload = Assert.Throws<EventValidationException>(() => db.Events().Append(stream, ExpectedVersion.Any, new Withdrawn(1, withNul)));
            Assert.That(payload!.Field, Is.EqualTo(nameof(EventData.Data)));
            Assert.That(payload.Message, Does.Contain("U+0000"));

            var metadata = random.Next(2) == 0
                ? new Dictionary<string, string> { ["key"] = withNul }
                : new Dictionary<string, string> { [withNul] = "value" };
            var meta = Assert.Throws<EventValidationException>(
                () => db.Events().Append(stream, ExpectedVersion.Any, new EventData(new Deposited(1)) { Metadata = metadata }));
            Assert.That(meta!.Field, Is.EqualTo(nameof(EventData.Metadata)));
        }

        db.Events().Append(stream, ExpectedVersion.NoStream, new Withdrawn(1, @"C:\u0000 is text, not a NUL"));
        await SaveAsync(db, async);
        Assert.That((await ReadStreamAsync(stream)).Select(e => ((Withdrawn)e.Data).Reason), Is.EqualTo(new[] { @"C:\u0000 is text, not a NUL" }));
    }

    [Test]
    public virtual void A_lone_surrogate_in_a_stream_id_or_type_is_rejected_naming_the_field()
    {
        foreach (var bad in new[] { "a\uD800", "\uDC00b", "x\uDC00\uD800y" })
        {
            Assert.That(Assert.Throws<ArgumentException>(() => _ = new StreamId("account", bad))!.ParamName, Is.EqualTo("id"));
            Assert.That(Assert.Throws<ArgumentException>(() => _ = new StreamId(bad, "1"))!.ParamName, Is.EqualTo("type"));
        }

        Assert.That(new StreamId("account", "smile-\uD83D\uDE00").Id, Is.EqualTo("smile-\uD83D\uDE00"), "a surrogate pair is one character");
    }

    /// <summary>
    /// EF runs DetectChanges after the SavingChanges interceptor and reports its failure to no interceptor: a save that
    /// fails there (a changed key), on a context that is never disposed, must leave later appends of the process unblocked.
    /// </summary>
    [Test]
    public virtual async Task A_save_that_fails_in_DetectChanges_leaves_later_appends_unblocked([Values] bool async)
    {
        var customer = new Customer { Name = "key", Email = Guid.NewGuid() + "@example.com" };
        var failed = CreateContext(); // deliberately never disposed
        failed.Customers.Add(customer);
        await SaveAsync(failed, async);
        customer.Id = Guid.NewGuid();
        failed.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(1));
        Assert.CatchAsync<InvalidOperationException>(() => SaveAsync(failed, async));

        var stream = NewStream();
        await using var other = CreateContext();
        other.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(2));
        var save = async ? other.SaveChangesAsync() : Task.Run(() => other.SaveChanges());
        await save.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.That(await other.Events().GetStreamVersionAsync(stream), Is.EqualTo(1));
    }

    private static string RandomText(Random random)
    {
        var chars = new char[random.Next(0, 12)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = (char)random.Next(0x20, 0x7F);
        }

        return new string(chars);
    }

    /// <summary>
    /// ExpectedVersion.Any means "at the end, whatever it is": 8 writers appending to one stream at once never get a
    /// conflict, and the stream ends with every event exactly once at versions 1..n.
    /// </summary>
    [Test]
    public virtual async Task Any_appends_from_8_concurrent_writers_to_one_stream_all_succeed([Values] bool async)
    {
        var stream = NewStream();
        const int writers = 8;
        const int appends = 8;
        var ids = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < appends; i++)
            {
                await using var db = CreateContext();
                var e = new EventData(new Deposited(w * 100 + i)) { EventId = Guid.NewGuid() };
                db.Events().Append(stream, ExpectedVersion.Any, e);
                await SaveAsync(db, async);
                ids.Add(e.EventId!.Value);
            }
        })));

        var events = await ReadStreamAsync(stream);
        Assert.That(events.Select(e => e.Version), Is.EqualTo(Enumerable.Range(1, writers * appends).Select(v => (long)v)));
        Assert.That(events.Select(e => e.EventId), Is.EquivalentTo(ids));
    }

    /// <summary>
    /// A model with the event store on a context whose options lack UseEventSourcing: no interceptor would run, so a save
    /// would write the entity and drop its events. The context refuses its model, before anything is written.
    /// </summary>
    [Test]
    public virtual async Task A_context_without_UseEventSourcing_fails_the_save_of_an_aggregate_entity_before_writing([Values] bool async)
    {
        var builder = new DbContextOptionsBuilder<UnconfiguredTicketContext>();
        Fixture.ConfigureProvider(builder);
        var ticket = Ticket.Open("would be lost");
        await using (var db = new UnconfiguredTicketContext(builder.Options))
        {
            var ex = Assert.CatchAsync<InvalidOperationException>(async () =>
            {
                db.Add(ticket);
                _ = async ? await db.SaveChangesAsync() : db.SaveChanges();
            });
            Assert.That(ex!.Message, Does.Contain("UseEventSourcing"));
            Assert.That(ex.Message, Does.Contain("IncludeEventStore"));
        }

        await using var check = CreateContext();
        Assert.That(await check.Tickets.AnyAsync(t => t.Id == ticket.Id), Is.False);
        Assert.That(await ReadAllAsync(), Is.Empty);
    }
}

/// <summary>The test model (event store and tickets) on a context whose options lack UseEventSourcing.</summary>
public sealed class UnconfiguredTicketContext(DbContextOptions<UnconfiguredTicketContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.IncludeEventStore();
        modelBuilder.Entity<Ticket>(b =>
        {
            b.ToTable("tickets");
            b.HasKey(t => t.Id);
            b.Property(t => t.Version).HasField("_version");
            b.Ignore(t => t.PendingEvents);
            b.Ignore(t => t.StreamId);
            b.Ignore(t => t.IsReadOnly);
        });
    }
}
