using Microsoft.EntityFrameworkCore.Infrastructure;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Aggregates in the DbContext: added and loaded through db.Aggregates&lt;T&gt;(), drained by SaveChanges with the version
/// they were loaded at, in one transaction with the user's entities; failure leaves them untouched.
/// </summary>
public abstract class AggregateTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    [Test]
    public virtual async Task Add_then_SaveChanges_appends_the_pending_events_and_advances_the_version([Values] bool async)
    {
        var id = Guid.NewGuid();
        var account = BankAccount.Open(id, "Ada");
        account.Deposit(10);
        Assert.That(account.Version, Is.Zero);
        Assert.That(account.PendingEvents, Has.Count.EqualTo(2));
        Assert.That(account.Balance, Is.EqualTo(10), "Raise applies the event at once");

        await using (var db = CreateContext())
        {
            db.Aggregates<BankAccount>().Add(account);
            await SaveAsync(db, async);
        }

        Assert.That(account.Version, Is.EqualTo(2));
        Assert.That(account.PendingEvents, Is.Empty);
        var events = await ReadStreamAsync(StreamId.For<BankAccount>(id));
        Assert.That(events.Select(e => e.Data), Is.EqualTo(new object[] { new AccountOpened(id, "Ada"), new Deposited(10) }));
        Assert.That(events[0].StreamId, Is.EqualTo(new StreamId("bank-account", id.ToString())));
    }

    [Test]
    public virtual async Task LoadAsync_replays_the_stream_and_a_second_load_returns_the_same_instance()
    {
        var id = await OpenAccountAsync(deposits: [5, 7]);
        await using var db = CreateContext();
        var account = await db.Aggregates<BankAccount>().LoadAsync(id);
        Assert.That(account.Id, Is.EqualTo(id));
        Assert.That(account.Owner, Is.EqualTo("Ada"));
        Assert.That(account.Balance, Is.EqualTo(12));
        Assert.That(account.Version, Is.EqualTo(3));
        Assert.That(account.PendingEvents, Is.Empty);
        Assert.That(await db.Aggregates<BankAccount>().LoadAsync(id), Is.SameAs(account));
        Assert.That(await db.Aggregates<BankAccount>().FindAsync(id), Is.SameAs(account));
    }

    [Test]
    public virtual async Task A_missing_aggregate_is_null_from_FindAsync_and_throws_from_LoadAsync()
    {
        var id = Guid.NewGuid();
        await using var db = CreateContext();
        Assert.That(await db.Aggregates<BankAccount>().FindAsync(id), Is.Null);
        var ex = Assert.ThrowsAsync<AggregateNotFoundException>(() => db.Aggregates<BankAccount>().LoadAsync(id));
        Assert.That(ex!.AggregateType, Is.EqualTo(typeof(BankAccount)));
        Assert.That(ex.StreamId, Is.EqualTo(StreamId.For<BankAccount>(id)));
    }

    [Test]
    public virtual async Task A_loaded_aggregate_appends_with_the_version_it_was_loaded_at([Values] bool async)
    {
        var id = await OpenAccountAsync(deposits: [5]);
        await using (var db = CreateContext())
        {
            var account = await db.Aggregates<BankAccount>().LoadAsync(id);
            account.Withdraw(3);
            account.Deposit(1);
            await SaveAsync(db, async);
            Assert.That(account.Version, Is.EqualTo(4));

            account.Deposit(2);
            await SaveAsync(db, async);
            Assert.That(account.Version, Is.EqualTo(5));
        }

        await using var check = CreateContext();
        var reloaded = await check.Aggregates<BankAccount>().LoadAsync(id);
        Assert.That(reloaded.Balance, Is.EqualTo(5));
        Assert.That(reloaded.Version, Is.EqualTo(5));
    }

    [Test]
    public virtual async Task Two_contexts_racing_on_one_aggregate_one_wins_and_the_loser_can_reload_and_retry([Values] bool async)
    {
        var id = await OpenAccountAsync(deposits: [100]);
        await using var first = CreateContext();
        await using var second = CreateContext();
        var a = await first.Aggregates<BankAccount>().LoadAsync(id);
        var b = await second.Aggregates<BankAccount>().LoadAsync(id);
        a.Withdraw(30);
        b.Withdraw(50);
        await SaveAsync(first, async);

        var ex = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(second, async));
        Assert.That(ex!.StreamId, Is.EqualTo(StreamId.For<BankAccount>(id)));
        Assert.That(ex.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(2)));
        Assert.That(ex.ActualVersion, Is.EqualTo(3));
        Assert.That(b.Version, Is.EqualTo(2), "a failed save leaves the aggregate as it was");
        Assert.That(b.PendingEvents, Has.Count.EqualTo(1));

        await using (var retry = CreateContext())
        {
            var fresh = await retry.Aggregates<BankAccount>().LoadAsync(id);
            fresh.Withdraw(50);
            await SaveAsync(retry, async);
        }

        await using var check = CreateContext();
        Assert.That((await check.Aggregates<BankAccount>().LoadAsync(id)).Balance, Is.EqualTo(20));
        Assert.That((await ReadStreamAsync(StreamId.For<BankAccount>(id))).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3, 4 }));
    }

    [Test]
    public virtual async Task A_user_entity_commits_with_the_aggregate_events_and_is_discarded_with_them([Values] bool async)
    {
        var id = await OpenAccountAsync(deposits: [10]);
        var kept = new Customer { Name = "kept", Email = Guid.NewGuid() + "@example.com" };
        var lost = new Customer { Name = "lost", Email = Guid.NewGuid() + "@example.com" };
        await using (var db = CreateContext())
        {
            var account = await db.Aggregates<BankAccount>().LoadAsync(id);
            account.Deposit(1);
            db.Customers.Add(kept);
            await SaveAsync(db, async);
        }

        await using (var stale = CreateContext())
        await using (var winner = CreateContext())
        {
            var mine = await stale.Aggregates<BankAccount>().LoadAsync(id);
            (await winner.Aggregates<BankAccount>().LoadAsync(id)).Deposit(2);
            await SaveAsync(winner, async);
            mine.Deposit(3);
            stale.Customers.Add(lost);
            Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(stale, async));
        }

        await using var check = CreateContext();
        Assert.That(await check.Customers.AnyAsync(c => c.Id == kept.Id), Is.True);
        Assert.That(await check.Customers.AnyAsync(c => c.Id == lost.Id), Is.False);
        Assert.That((await check.Aggregates<BankAccount>().LoadAsync(id)).Balance, Is.EqualTo(13));
    }

    [Test]
    public virtual async Task A_failed_save_retried_on_the_same_context_writes_each_event_once([Values] bool async)
    {
        var id = Guid.NewGuid();
        await using var db = CreateContext();
        var account = BankAccount.Open(id, "Ada");
        account.Deposit(4);
        db.Aggregates<BankAccount>().Add(account);

        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            Assert.That(async () => await db.SaveChangesAsync(cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        }

        Assert.That(account.Version, Is.Zero);
        Assert.That(account.PendingEvents, Has.Count.EqualTo(2));
        Assert.That(await ReadStreamAsync(account.StreamId), Is.Empty);

        await SaveAsync(db, async);
        await SaveAsync(db, async);
        Assert.That((await ReadStreamAsync(account.StreamId)).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(account.Version, Is.EqualTo(2));
    }

    [Test]
    public virtual async Task LoadAsync_at_a_version_returns_a_read_only_view_of_the_past()
    {
        var id = await OpenAccountAsync(deposits: [1, 2, 4]);
        await using var db = CreateContext();
        var past = await db.Aggregates<BankAccount>().LoadAsync(id, atVersion: 3);
        Assert.That(past.Balance, Is.EqualTo(3));
        Assert.That(past.Version, Is.EqualTo(3));
        Assert.That(past.IsReadOnly, Is.True);
        Assert.Throws<InvalidOperationException>(() => past.Deposit(1));
        Assert.Throws<InvalidOperationException>(() => db.Aggregates<BankAccount>().Add(past));

        var current = await db.Aggregates<BankAccount>().LoadAsync(id);
        Assert.That(current, Is.Not.SameAs(past), "point-in-time views are not tracked");
        Assert.That(current.Balance, Is.EqualTo(7));
        Assert.ThrowsAsync<AggregateNotFoundException>(() => db.Aggregates<BankAccount>().LoadAsync(id, atVersion: 5));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => db.Aggregates<BankAccount>().LoadAsync(id, atVersion: 0));
    }

    [Test]
    public virtual async Task LoadAsOfAsync_returns_the_state_at_a_point_in_time()
    {
        var id = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        var t0 = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, now.Second, TimeSpan.Zero).AddDays(1); // after the creation event
        await using (var db = CreateContext())
        {
            var account = BankAccount.Open(id, "Ada");
            account.DepositAt(10, t0.AddHours(1));
            account.DepositAt(20, t0.AddHours(2));
            account.DepositAt(40, t0.AddHours(3));
            db.Aggregates<BankAccount>().Add(account);
            await db.SaveChangesAsync();
        }

        await using var read = CreateContext();
        var set = read.Aggregates<BankAccount>();
        Assert.That((await set.LoadAsOfAsync(id, t0.AddHours(2))).Balance, Is.EqualTo(30));
        Assert.That((await set.LoadAsOfAsync(id, t0.AddHours(2).AddTicks(-1))).Balance, Is.EqualTo(10));
        Assert.That((await set.LoadAsOfAsync(id, t0.AddYears(1))).Balance, Is.EqualTo(70));
        Assert.That((await set.LoadAsOfAsync(id, t0.AddYears(1))).IsReadOnly, Is.True);
        Assert.ThrowsAsync<ArgumentException>(() => set.LoadAsOfAsync(id, t0.ToOffset(TimeSpan.FromHours(2))));
        Assert.That((await set.LoadAsOfAsync(id, t0)).Balance, Is.Zero, "only the creation event is at or before t0");
        Assert.ThrowsAsync<AggregateNotFoundException>(() => set.LoadAsOfAsync(Guid.NewGuid(), t0));
    }

    [Test]
    public virtual async Task Replaying_an_event_without_a_handler_throws_unless_the_aggregate_ignores_it()
    {
        var id = await OpenAccountAsync(deposits: [5]);
        await using (var db = CreateContext())
        {
            db.Events().Append(StreamId.For<BankAccount>(id), ExpectedVersion.Exactly(2), new Renamed("no handler"), new Deposited(1));
            await db.SaveChangesAsync();
        }

        await using var read = CreateContext();
        var ex = Assert.ThrowsAsync<EventHandlerMissingException>(() => read.Aggregates<BankAccount>().LoadAsync(id));
        Assert.That(ex!.AggregateType, Is.EqualTo(typeof(BankAccount)));
        Assert.That(ex.EventType, Is.EqualTo(typeof(Renamed)));

        var lenient = await read.Aggregates<LenientBankAccount>().LoadAsync(id);
        Assert.That(lenient.Balance, Is.EqualTo(6));
        Assert.That(lenient.Version, Is.EqualTo(4), "skipped events still count towards the version");
    }

    [Test]
    public virtual void Raising_an_event_without_a_handler_throws_and_records_nothing()
    {
        var account = BankAccount.Open(Guid.NewGuid(), "Ada");
        Assert.Throws<EventHandlerMissingException>(() => account.Rename("x"));
        Assert.That(account.PendingEvents, Has.Count.EqualTo(1));
    }

    [Test]
    public virtual async Task A_stream_whose_creation_event_names_another_id_is_reported_as_corruption()
    {
        var stored = Guid.NewGuid();
        await using (var db = CreateContext())
        {
            db.Events().Append(StreamId.For<BankAccount>(stored), ExpectedVersion.NoStream, new AccountOpened(Guid.NewGuid(), "Mallory"));
            await db.SaveChangesAsync();
        }

        await using var read = CreateContext();
        var ex = Assert.ThrowsAsync<EventStoreCorruptionException>(() => read.Aggregates<BankAccount>().LoadAsync(stored));
        Assert.That(ex!.StreamId, Is.EqualTo(StreamId.For<BankAccount>(stored)));
    }

    [Test]
    public virtual async Task String_long_and_value_object_ids_round_trip_through_their_streams([Values] bool async)
    {
        var name = "nick-" + Guid.NewGuid().ToString("N");
        var counterId = Random.Shared.NextInt64(1, long.MaxValue);
        var sku = new Sku("BOLT-" + Guid.NewGuid().ToString("N")[..6], 12);
        await using (var db = CreateContext())
        {
            db.Aggregates<Nickname>().Add(Nickname.Create(name, "Ada"));
            var counter = Counter.Start(counterId);
            counter.Increment(counterId);
            db.Aggregates<Counter>().Add(counter);
            db.Aggregates<Stock>().Add(Stock.Take(sku, 40));
            await SaveAsync(db, async);
        }

        await using var read = CreateContext();
        var nickname = await read.Aggregates<Nickname>().LoadAsync(name);
        Assert.That(nickname.Name, Is.EqualTo("Ada"));
        Assert.That(nickname.StreamId, Is.EqualTo(new StreamId("Nickname", name)), "the class name is the default stream type");
        Assert.That((await read.Aggregates<Counter>().LoadAsync(counterId)).Value, Is.EqualTo(2));
        var stock = await read.Aggregates<Stock>().LoadAsync(sku);
        Assert.That(stock.Id, Is.EqualTo(sku));
        Assert.That(stock.Count, Is.EqualTo(40));
        Assert.That(StreamId.For<Stock>(sku).Id, Is.EqualTo(sku.ToString()));
    }

    [Test]
    public virtual async Task A_tracked_EF_entity_that_records_events_is_drained_with_its_row([Values] bool async)
    {
        var ticket = Ticket.Open("printer on fire");
        await using (var db = CreateContext())
        {
            db.Tickets.Add(ticket);
            await SaveAsync(db, async);
            Assert.That(ticket.Version, Is.EqualTo(1));
            Assert.That(ticket.PendingEvents, Is.Empty);

            ticket.Close("extinguished");
            await SaveAsync(db, async);
            Assert.That(ticket.Version, Is.EqualTo(2));
        }

        await using var check = CreateContext();
        var row = await check.Tickets.SingleAsync(t => t.Id == ticket.Id);
        Assert.That(row.Closed, Is.True);
        Assert.That(row.Version, Is.EqualTo(2), "the entity's own Version column is saved by EF");
        Assert.That((await ReadStreamAsync(ticket.StreamId)).Select(e => e.Data),
            Is.EqualTo(new object[] { new TicketOpened("printer on fire"), new TicketClosed("extinguished") }));
    }

    [Test]
    public virtual async Task An_EF_entity_that_loses_a_race_keeps_its_version_and_pending_events([Values] bool async)
    {
        var ticket = Ticket.Open("flaky test");
        await using (var db = CreateContext())
        {
            db.Tickets.Add(ticket);
            await db.SaveChangesAsync();
        }

        await using var first = CreateContext();
        await using var second = CreateContext();
        var a = await first.Tickets.SingleAsync(t => t.Id == ticket.Id);
        var b = await second.Tickets.SingleAsync(t => t.Id == ticket.Id);
        Assert.That(b.Version, Is.EqualTo(1), "the version is read back from the entity's own column");
        a.Close("fixed");
        await SaveAsync(first, async);
        b.Close("won't fix");
        var ex = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(second, async));
        Assert.That(ex!.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(1)));
        Assert.That(b.Version, Is.EqualTo(1), "the version written for the failed save was put back");
        Assert.That(b.PendingEvents, Has.Count.EqualTo(1));

        await using var check = CreateContext();
        var row = await check.Tickets.SingleAsync(t => t.Id == ticket.Id);
        Assert.That(row.Version, Is.EqualTo(2));
        Assert.That((await ReadStreamAsync(ticket.StreamId)).Select(e => e.Data).Last(), Is.EqualTo(new TicketClosed("fixed")));
    }

    [Test]
    public virtual async Task Pooled_contexts_leased_10000_times_leak_no_aggregate_or_staged_state()
    {
        var factory = new PooledDbContextFactory<TestDbContext>(Fixture.CreateOptions());
        var stream = NewStream();
        for (var lease = 0; lease < 10_000; lease++)
        {
            await using var db = await factory.CreateDbContextAsync();
            if (lease % 2 == 0)
            {
                // Leave work behind, unsaved: a new aggregate, a staged batch.
                db.Aggregates<BankAccount>().Add(BankAccount.Open(Guid.NewGuid(), "leak"));
                db.Events().Append(stream, ExpectedVersion.Any, new Deposited(lease));
            }
            else
            {
                Assert.That(await db.SaveChangesAsync(), Is.Zero, $"lease {lease} inherited state from the previous lease");
            }
        }

        Assert.That(await ReadAllAsync(), Is.Empty);
    }

    [Test]
    public virtual async Task LoadAsync_honours_cancellation()
    {
        var id = await OpenAccountAsync(deposits: [1]);
        await using var db = CreateContext();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        Assert.That(async () => await db.Aggregates<BankAccount>().LoadAsync(id, cts.Token), Throws.InstanceOf<OperationCanceledException>());
    }

    /// <summary>Opens an account with the given deposits in a fresh context and returns its id.</summary>
    protected async Task<Guid> OpenAccountAsync(decimal[] deposits)
    {
        var id = Guid.NewGuid();
        await using var db = CreateContext();
        var account = BankAccount.Open(id, "Ada");
        foreach (var amount in deposits)
        {
            account.Deposit(amount);
        }

        db.Aggregates<BankAccount>().Add(account);
        await db.SaveChangesAsync();
        return id;
    }
}
