using System.Runtime.CompilerServices;
using EventSourcing.EFCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// Projections (DESIGN.md sections 3 and 7): inline read models committed (and rolled back) with their events, catch-up
/// read models that apply every committed event once from a checkpoint, rebuild, lag, and live folds.
/// </summary>
public abstract class ProjectionTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private const string Inline = "inline-balances";

    // ---------------------------------------------------------------- inline

    [Test]
    public virtual async Task Inline_read_model_matches_the_events_after_each_save([Values] bool async)
    {
        var stream = NewStream();
        await using (var db = CreateContext(InlineBalances))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10), new Deposited(5));
            await SaveAsync(db, async);
        }

        Assert.That(await BalanceAsync(Inline, stream), Is.EqualTo((15m, 2L)));

        await using (var db = CreateContext(InlineBalances))
        {
            db.Events().Append(stream, ExpectedVersion.Exactly(2), new Withdrawn(3, "fee"));
            await SaveAsync(db, async);
            db.Events().Append(stream, ExpectedVersion.Exactly(3), new Deposited(1));
            await SaveAsync(db, async);
        }

        Assert.That(await BalanceAsync(Inline, stream), Is.EqualTo((13m, 4L)));
        Assert.That(await LiveBalanceAsync(stream), Is.EqualTo(13m), "the read model agrees with a fold of the stream");
    }

    [Test]
    public virtual async Task Inline_projection_applies_the_events_of_every_batch_and_aggregate_of_one_save([Values] bool async)
    {
        var first = NewStream();
        var second = NewStream();
        var accountId = Guid.NewGuid();
        await using (var db = CreateContext(InlineBalances))
        {
            db.Events().Append(first, ExpectedVersion.NoStream, new Deposited(1));
            db.Events().Append(second, ExpectedVersion.NoStream, new Deposited(2));
            db.Events().Append(first, ExpectedVersion.Exactly(1), new Deposited(3));
            var account = BankAccount.Open(accountId, "Ada");
            account.Deposit(40);
            db.Aggregates<BankAccount>().Add(account);
            await SaveAsync(db, async);
        }

        Assert.That(await BalanceAsync(Inline, first), Is.EqualTo((4m, 2L)));
        Assert.That(await BalanceAsync(Inline, second), Is.EqualTo((2m, 1L)));
        Assert.That(await BalanceAsync(Inline, StreamId.For<BankAccount>(accountId)), Is.EqualTo((40m, 2L)), "the aggregate's deposit is its version 2");
    }

    [Test]
    public virtual async Task Inline_handlers_see_the_envelope_without_position_or_checkpoint([Values] bool async)
    {
        var seen = new List<RecordedEvent>();
        var stream = NewStream();
        var id = Guid.CreateVersion7();
        await using (var db = CreateContext(es => es.AddInlineProjection<TestDbContext>("spy", p => p.On<Deposited>((_, _, envelope) => seen.Add(envelope)))))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new EventData(new Deposited(7)) { EventId = id, Metadata = new Dictionary<string, string> { ["user"] = "ada" } });
            await SaveAsync(db, async);
        }

        Assert.That(seen, Has.Count.EqualTo(1));
        var envelope = seen[0];
        Assert.That(envelope.StreamId, Is.EqualTo(stream));
        Assert.That(envelope.Version, Is.EqualTo(1));
        Assert.That(envelope.EventId, Is.EqualTo(id));
        Assert.That(envelope.EventType, Is.EqualTo("test.deposited"));
        Assert.That(envelope.Data, Is.EqualTo(new Deposited(7)));
        Assert.That(envelope.Metadata["user"], Is.EqualTo("ada"));
        Assert.That(envelope.GlobalPosition, Is.Zero, "positions are assigned by the INSERT, after inline handlers ran");
        Assert.That(envelope.Checkpoint, Is.EqualTo(GlobalCheckpoint.Start));
    }

    [Test]
    public virtual async Task A_failing_inline_handler_fails_the_save_writes_nothing_and_a_retry_applies_each_event_once([Values] bool async)
    {
        var stream = NewStream();
        var fail = new StrongBox<bool>(false);
        Action<EventSourcingDbContextOptionsBuilder> configure = es =>
        {
            InlineBalances(es);
            es.AddInlineProjection<TestDbContext>("flaky", p => p.On<Deposited>((_, e, _) =>
            {
                if (fail.Value)
                {
                    throw new InvalidOperationException("flaky handler");
                }
            }));
        };
        await using (var seed = CreateContext(configure))
        {
            seed.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10));
            await SaveAsync(seed, async);
        }

        await using var db = CreateContext(configure);
        var tracked = (await db.Set<AccountBalance>().FindAsync(Inline, stream.ToString()))!; // a read model the user already tracks
        var customer = new Customer { Name = "Cy", Email = Guid.NewGuid() + "@example.com" };
        db.Customers.Add(customer);
        db.Events().Append(stream, ExpectedVersion.Exactly(1), new Deposited(5));
        fail.Value = true;

        var error = Assert.ThrowsAsync<ProjectionFailedException>(() => SaveAsync(db, async));
        Assert.That(error!.Projection, Is.EqualTo("flaky"));
        Assert.That(error.EventType, Is.EqualTo("test.deposited"));
        Assert.That(error.StreamId, Is.EqualTo(stream));
        Assert.That(error.Version, Is.EqualTo(2));
        Assert.That(error.Checkpoint, Is.Null);
        Assert.That(error.InnerException, Is.TypeOf<InvalidOperationException>());

        Assert.That(tracked.Balance, Is.EqualTo(10m), "the first projection's change is undone in the change tracker");
        Assert.That(tracked.Version, Is.EqualTo(1));
        Assert.That(db.Entry(tracked).State, Is.EqualTo(EntityState.Unchanged));
        Assert.That(db.Entry(customer).State, Is.EqualTo(EntityState.Added), "the user's own changes are kept for the retry");
        Assert.That(db.ChangeTracker.Entries<Storage.StoredEvent>(), Is.Empty);
        Assert.That(await BalanceAsync(Inline, stream), Is.EqualTo((10m, 1L)));
        Assert.That(await ReadStreamAsync(stream), Has.Count.EqualTo(1), "nothing was written");

        fail.Value = false;
        await SaveAsync(db, async);

        Assert.That(await BalanceAsync(Inline, stream), Is.EqualTo((15m, 2L)), "the retry applied the event once");
        Assert.That(await ReadStreamAsync(stream), Has.Count.EqualTo(2));
        await using var check = CreateContext();
        Assert.That(await check.Customers.CountAsync(c => c.Id == customer.Id), Is.EqualTo(1));
    }

    [Test]
    public virtual async Task An_inline_projection_leaves_nothing_behind_after_a_stream_conflict_and_a_reloaded_retry_applies_once([Values] bool async)
    {
        var stream = NewStream();
        await using (var seed = CreateContext(InlineBalances))
        {
            seed.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10));
            await SaveAsync(seed, async);
        }

        await using var loser = CreateContext(InlineBalances);
        loser.Events().Append(stream, ExpectedVersion.Exactly(1), new Deposited(5));
        await using (var winner = CreateContext(InlineBalances))
        {
            winner.Events().Append(stream, ExpectedVersion.Exactly(1), new Deposited(7));
            await SaveAsync(winner, async);
        }

        Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(loser, async));
        Assert.That(loser.ChangeTracker.Entries<AccountBalance>(), Is.Empty, "the read-model row the handler loaded and changed is not left behind");
        Assert.That(await BalanceAsync(Inline, stream), Is.EqualTo((17m, 2L)));

        // The usual retry: re-read the version and decide again on the same context.
        loser.Events().ClearStaged();
        var version = await loser.Events().GetStreamVersionAsync(stream);
        loser.Events().Append(stream, ExpectedVersion.Exactly(version!.Value), new Deposited(5));
        await SaveAsync(loser, async);

        Assert.That(await BalanceAsync(Inline, stream), Is.EqualTo((22m, 3L)));
        Assert.That(await LiveBalanceAsync(stream), Is.EqualTo(22m));
    }

    [Test]
    public virtual async Task A_synchronous_SaveChanges_with_an_asynchronous_inline_handler_throws_InvalidOperationException_and_writes_nothing()
    {
        var stream = NewStream();
        var never = new TaskCompletionSource(); // the handler never resumes, so it cannot touch the context afterwards
        await using (var db = CreateContext(es => SlowBalances(es, never.Task)))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10));
            var error = Assert.Throws<InvalidOperationException>(() => db.SaveChanges());
            Assert.That(error!.Message, Does.Contain("SaveChangesAsync").And.Contain("'slow'"));
            Assert.That(db.ChangeTracker.Entries<Storage.StoredEvent>(), Is.Empty);
        }

        Assert.That(await ReadStreamAsync(stream), Is.Empty);

        await using (var db = CreateContext(es => SlowBalances(es, Task.Delay(1))))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10));
            await db.SaveChangesAsync();
        }

        Assert.That(await ReadStreamAsync(stream), Has.Count.EqualTo(1));
        Assert.That(await BalanceAsync("slow", stream), Is.EqualTo((10m, 1L)), "the same handler works in SaveChangesAsync");
    }

    private static void SlowBalances(EventSourcingDbContextOptionsBuilder es, Task gate)
        => es.AddInlineProjection<TestDbContext>("slow", p => p.On<Deposited>(async (db, e, envelope, ct) =>
        {
            await gate;
            db.Add(new AccountBalance { Projection = "slow", Stream = envelope.StreamId.ToString(), Balance = e.Amount, Version = envelope.Version });
        }));

    // ---------------------------------------------------------------- catch-up

    [Test]
    public virtual async Task Catch_up_applies_every_committed_event_once_and_a_second_call_changes_nothing()
    {
        var streams = Enumerable.Range(0, 3).Select(_ => NewStream()).ToArray();
        foreach (var stream in streams)
        {
            await SeedAsync(stream, 400); // 1,200 events: more than two batches
        }

        await using (var db = CreateContext(CatchUpLedger))
        {
            Assert.That(await db.Projections().CatchUpAsync("ledger"), Is.EqualTo(1200));
        }

        var before = await LedgerAsync("ledger");
        await using (var db = CreateContext(CatchUpLedger))
        {
            Assert.That(await db.Projections().CatchUpAsync("ledger"), Is.Zero);
            var lag = await db.Projections().GetLagAsync("ledger");
            Assert.That(lag.EventsBehind, Is.Zero);
            Assert.That(lag.IsCaughtUp, Is.True);
            Assert.That(lag.Checkpoint, Is.EqualTo((await ReadAllAsync())[^1].Checkpoint), "the checkpoint is at the end of the store");
        }

        var after = await LedgerAsync("ledger");
        Assert.That(after.Select(r => (r.Id, r.EventId)), Is.EqualTo(before.Select(r => (r.Id, r.EventId))), "the second call changed nothing");
        Assert.That(after, Has.Count.EqualTo(1200));
        Assert.That(after.Select(r => r.EventId).Distinct().Count(), Is.EqualTo(1200), "each event once");
        Assert.That(await OrderViolationsAsync("ledger"), Is.Zero);
    }

    [Test]
    public virtual async Task Catch_up_resumes_after_new_events()
    {
        var stream = NewStream();
        await SeedAsync(stream, 3);
        await using (var db = CreateContext(CatchUpBalances))
        {
            Assert.That(await db.Projections().CatchUpAsync("balances"), Is.EqualTo(3));
        }

        await SeedAsync(stream, 2);
        var other = NewStream();
        await SeedAsync(other, 1);
        await using (var db = CreateContext(CatchUpBalances))
        {
            Assert.That(await db.Projections().CatchUpAsync("balances"), Is.EqualTo(3), "only the new events");
        }

        // Deposited(i) for i = 1..n per seed: 1+2+3 and then 1+2.
        Assert.That(await BalanceAsync("balances", stream), Is.EqualTo((9m, 5L)));
        Assert.That(await BalanceAsync("balances", other), Is.EqualTo((1m, 1L)));
    }

    [Test]
    public virtual async Task A_failing_catch_up_projection_stops_at_the_failing_event_without_advancing_and_others_carry_on()
    {
        var stream = NewStream();
        await SeedAsync(stream, 2);
        Action<EventSourcingDbContextOptionsBuilder> configure = es => es
            .AddProjection<TestDbContext>("poisoned", p => p
                .On<Deposited>((db, e, envelope) => db.Add(new LedgerRow { Projection = "poisoned", Stream = envelope.StreamId.ToString(), Version = envelope.Version, EventId = envelope.EventId }))
                .On<Renamed>((_, e, _) =>
                {
                    if (e.Name == "poison")
                    {
                        throw new FormatException("cannot digest");
                    }
                }))
            .AddProjection<LedgerProjection>();
        GlobalCheckpoint committed;
        await using (var db = CreateContext(configure))
        {
            Assert.That(await db.Projections().CatchUpAsync("poisoned"), Is.EqualTo(2));
            committed = (await db.Projections().GetLagAsync("poisoned")).Checkpoint;
        }

        await using (var db = CreateContext())
        {
            db.Events().Append(stream, ExpectedVersion.Exactly(2), new Deposited(3), new Renamed("poison"), new Deposited(4));
            await db.SaveChangesAsync();
        }

        var poison = (await ReadStreamAsync(stream))[3];
        await using (var db = CreateContext(configure))
        {
            var error = Assert.ThrowsAsync<ProjectionFailedException>(() => db.Projections().CatchUpAsync("poisoned"));
            Assert.That(error!.Projection, Is.EqualTo("poisoned"));
            Assert.That(error.EventType, Is.EqualTo("test.renamed"));
            Assert.That(error.GlobalPosition, Is.EqualTo(poison.GlobalPosition));
            Assert.That(error.StreamId, Is.EqualTo(stream));
            Assert.That(error.Version, Is.EqualTo(4));
            Assert.That(error.Checkpoint, Is.EqualTo(committed));
            Assert.That(error.InnerException, Is.TypeOf<FormatException>());
            Assert.That(error.Message, Does.Contain("test.renamed").And.Contain(poison.GlobalPosition.ToString(System.Globalization.CultureInfo.InvariantCulture)));

            var lag = await db.Projections().GetLagAsync("poisoned");
            Assert.That(lag.Checkpoint, Is.EqualTo(committed), "the checkpoint did not advance");
            Assert.That(lag.EventsBehind, Is.EqualTo(3));
            Assert.ThrowsAsync<ProjectionFailedException>(() => db.Projections().CatchUpAsync("poisoned"), "it stops at the same event again");

            Assert.That(await db.Projections().CatchUpAsync("ledger"), Is.EqualTo(5), "another projection is not held up");
        }

        Assert.That((await LedgerAsync("poisoned")).Select(r => r.Version), Is.EqualTo(new long[] { 1, 2 }), "nothing of the failing batch was saved");
    }

    [Test]
    public virtual async Task Two_runners_of_one_projection_at_once_apply_each_event_once()
    {
        Assume.That(Fixture.SupportsConcurrentWriters, "the provider allows concurrent contexts");
        var streams = Enumerable.Range(0, 4).Select(_ => NewStream()).ToArray();
        foreach (var stream in streams)
        {
            await SeedAsync(stream, 500);
        }

        var counts = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            await using var db = CreateContext(CatchUpLedger);
            return await db.Projections().CatchUpAsync("ledger");
        })));

        Assert.That(counts.Sum(), Is.EqualTo(2000), "together the runners passed every event once");
        var ledger = await LedgerAsync("ledger");
        Assert.That(ledger, Has.Count.EqualTo(2000));
        Assert.That(ledger.Select(r => (r.Stream, r.Version)).Distinct().Count(), Is.EqualTo(2000), "no event applied twice");
        Assert.That(await OrderViolationsAsync("ledger"), Is.Zero);
    }

    [Test]
    public virtual async Task Rebuild_clears_the_read_model_through_the_reset_hook_and_replays_every_event()
    {
        var stream = NewStream();
        await SeedAsync(stream, 4);
        await using (var db = CreateContext(CatchUpBalances))
        {
            await db.Projections().CatchUpAsync("balances");
            var row = (await db.Set<AccountBalance>().FindAsync("balances", stream.ToString()))!;
            row.Balance = 1000; // a read model gone wrong (a bug fixed since, say)
            db.Add(new AccountBalance { Projection = "balances", Stream = "stale:row", Balance = 1 });
            await db.SaveChangesAsync();
        }

        await using (var db = CreateContext(CatchUpBalances))
        {
            Assert.That(await db.Projections().RebuildAsync("balances"), Is.EqualTo(4));
            Assert.That((await db.Projections().GetLagAsync("balances")).EventsBehind, Is.Zero);
        }

        Assert.That(await BalanceAsync("balances", stream), Is.EqualTo((10m, 4L)));
        await using var check = CreateContext();
        Assert.That(await check.Set<AccountBalance>().CountAsync(b => b.Stream == "stale:row"), Is.Zero);
        Assert.That((await check.Set<AccountBalance>().SingleAsync(b => b.Projection == "balances")).Operations, Is.EqualTo(4), "each event replayed once");
    }

    [Test]
    public virtual async Task Rebuild_without_a_reset_hook_throws_InvalidOperationException_and_changes_nothing()
    {
        var stream = NewStream();
        await SeedAsync(stream, 2);
        Action<EventSourcingDbContextOptionsBuilder> configure = es => es.AddProjection<TestDbContext>("no-reset", p => p
            .On<Deposited>((db, e, envelope) => db.Add(new LedgerRow { Projection = "no-reset", Stream = envelope.StreamId.ToString(), Version = envelope.Version })));
        await using var db = CreateContext(configure);
        await db.Projections().CatchUpAsync("no-reset");
        var before = await db.Projections().GetLagAsync("no-reset");

        var error = Assert.ThrowsAsync<InvalidOperationException>(() => db.Projections().RebuildAsync("no-reset"));
        Assert.That(error!.Message, Does.Contain("ResetAsync"));
        Assert.That((await db.Projections().GetLagAsync("no-reset")).Checkpoint, Is.EqualTo(before.Checkpoint));
        Assert.That(await LedgerAsync("no-reset"), Has.Count.EqualTo(2));
    }

    [Test]
    public virtual async Task Lag_counts_the_committed_events_after_the_checkpoint_and_the_age_of_the_oldest()
    {
        var clock = new ManualClock(new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero));
        Action<EventSourcingDbContextOptionsBuilder> configure = es => es.UseTimeProvider(clock).AddProjection<BalanceProjection>();
        var stream = NewStream();
        await using (var db = CreateContext(configure))
        {
            var never = await db.Projections().GetLagAsync("balances");
            Assert.That(never, Is.EqualTo(new ProjectionLag("balances", GlobalCheckpoint.Start, 0, TimeSpan.Zero, null)));

            await db.Events().AppendAsync(stream, ExpectedVersion.NoStream, [new Deposited(1), new Deposited(2)]);
            clock.Advance(TimeSpan.FromSeconds(30));
            await db.Events().AppendAsync(stream, ExpectedVersion.Exactly(2), [new Deposited(3)]);
            clock.Advance(TimeSpan.FromSeconds(60));

            var lag = await db.Projections().GetLagAsync("balances");
            Assert.That(lag.EventsBehind, Is.EqualTo(3));
            Assert.That(lag.TimeBehind, Is.EqualTo(TimeSpan.FromSeconds(90)), "the oldest unapplied event is 90 s old");
            Assert.That(lag.SecondsBehind, Is.EqualTo(90));

            await db.Projections().CatchUpAsync("balances");
            lag = await db.Projections().GetLagAsync("balances");
            Assert.That(lag.EventsBehind, Is.Zero);
            Assert.That(lag.TimeBehind, Is.EqualTo(TimeSpan.Zero));
            Assert.That(lag.UpdatedAt, Is.EqualTo(clock.GetUtcNow()));
        }
    }

    [Test]
    public virtual async Task Catch_up_refuses_a_context_with_unsaved_changes_and_unknown_names()
    {
        await using var db = CreateContext(es =>
        {
            InlineBalances(es);
            CatchUpBalances(es);
        });
        Assert.That(db.Projections().Names, Is.EqualTo(new[] { "balances" }), "inline projections are not caught up");
        Assert.That(Assert.ThrowsAsync<InvalidOperationException>(() => db.Projections().CatchUpAsync("missing"))!.Message, Does.Contain("AddProjection"));
        Assert.That(Assert.ThrowsAsync<InvalidOperationException>(() => db.Projections().GetLagAsync(Inline))!.Message, Does.Contain("inline"));

        db.Customers.Add(new Customer { Name = "Cy", Email = Guid.NewGuid() + "@example.com" });
        Assert.ThrowsAsync<InvalidOperationException>(() => db.Projections().CatchUpAsync("balances"));
        db.ChangeTracker.Clear();
        db.Events().Append(NewStream(), ExpectedVersion.NoStream, new Deposited(1));
        Assert.ThrowsAsync<InvalidOperationException>(() => db.Projections().CatchUpAsync("balances"));
    }

    [Test]
    public virtual void Registering_two_projections_under_one_name_throws_InvalidOperationException()
    {
        var error = Assert.Throws<InvalidOperationException>(() => CreateContext(es => es.AddProjection<BalanceProjection>().AddInlineProjection<BalanceProjection>()));
        Assert.That(error!.Message, Does.Contain("'balances'"));
    }

    [Test]
    public virtual async Task Catch_up_honours_cancellation()
    {
        await SeedAsync(NewStream(), 10);
        await using var db = CreateContext(CatchUpLedger);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        Assert.That(
            async () => await db.Projections().CatchUpAsync("ledger", cancelled.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(await LedgerAsync("ledger"), Is.Empty);
    }

    [Test]
    public virtual async Task The_hosted_service_keeps_each_projection_caught_up_and_logs_a_failing_one_without_holding_up_the_others()
    {
        Assume.That(Fixture.SupportsConcurrentWriters, "the provider allows concurrent contexts");
        var options = Fixture.CreateOptions(es => es
            .AddProjection<LedgerProjection>()
            .AddProjection<BalanceProjection>()
            .AddProjection<TestDbContext>("broken", p => p.On<Deposited>((_, _, _) => throw new InvalidOperationException("broken handler"))));
        var logs = new LogCollector();
        var services = new ServiceCollection();
        services.AddScoped(_ => new TestDbContext(options));
        services.AddSingleton<ILoggerFactory>(logs);
        services.AddEventSourcingProjections<TestDbContext>(o =>
        {
            o.BatchSize = 50;
            o.MinPollInterval = TimeSpan.FromMilliseconds(10);
            o.MaxPollInterval = TimeSpan.FromMilliseconds(100);
            o.RetryInterval = TimeSpan.FromMilliseconds(100);
        });
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetServices<IHostedService>().Single();
        var stream = NewStream();
        await SeedAsync(stream, 120);

        await host.StartAsync(CancellationToken.None);
        try
        {
            await WaitUntilCaughtUpAsync(options, "ledger", "balances");
            await SeedAsync(stream, 30);
            await WaitUntilCaughtUpAsync(options, "ledger", "balances");
            await WaitUntilAsync(() => Task.FromResult(logs.Entries.Count(e => e.EventId == EventSourcingEventId.ProjectionFailed) >= 2));
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }

        Assert.That(await LedgerAsync("ledger"), Has.Count.EqualTo(150));
        Assert.That(await OrderViolationsAsync("ledger"), Is.Zero);
        Assert.That(await BalanceAsync("balances", stream), Is.EqualTo((120m * 121 / 2 + 30m * 31 / 2, 150L)));
        var failure = logs.Entries.First(e => e.EventId == EventSourcingEventId.ProjectionFailed);
        Assert.That(failure.Level, Is.EqualTo(LogLevel.Error));
        Assert.That(failure.Exception, Is.TypeOf<ProjectionFailedException>());
        Assert.That(((ProjectionFailedException)failure.Exception!).Version, Is.EqualTo(1), "it keeps failing on the first event, without advancing");
        await using var db = new TestDbContext(options);
        Assert.That((await db.Projections().GetLagAsync("broken")).EventsBehind, Is.EqualTo(150));
    }

    // ---------------------------------------------------------------- live

    [Test]
    public virtual async Task A_live_projection_folds_a_stream_on_demand_without_storing_anything()
    {
        var stream = NewStream();
        await SeedAsync(stream, 4);
        await using var db = CreateContext();
        var (balance, version) = await db.Events().AggregateStreamAsync(
            stream, (Balance: 0m, Version: 0L), (state, e) => e.Data is Deposited d ? (state.Balance + d.Amount, e.Version) : state);
        Assert.That((balance, version), Is.EqualTo((10m, 4L)));
        Assert.That(await db.Events().AggregateStreamAsync(NewStream(), 42, (s, _) => s + 1), Is.EqualTo(42), "an empty stream returns the seed");
        Assert.That(await db.Set<AccountBalance>().CountAsync(), Is.Zero);
    }

    // ---------------------------------------------------------------- helpers

    protected static void InlineBalances(EventSourcingDbContextOptionsBuilder es)
        => es.AddInlineProjection(new BalanceProjection(Inline));

    protected static void CatchUpBalances(EventSourcingDbContextOptionsBuilder es)
        => es.AddProjection<BalanceProjection>();

    protected static void CatchUpLedger(EventSourcingDbContextOptionsBuilder es)
        => es.AddProjection<LedgerProjection>();

    protected async Task<(decimal Balance, long Version)?> BalanceAsync(string projection, StreamId stream)
    {
        await using var db = CreateContext();
        var row = await db.Set<AccountBalance>().AsNoTracking().SingleOrDefaultAsync(b => b.Projection == projection && b.Stream == stream.ToString());
        return row is null ? null : (row.Balance, row.Version);
    }

    protected async Task<decimal> LiveBalanceAsync(StreamId stream)
    {
        await using var db = CreateContext();
        return await db.Events().AggregateStreamAsync(stream, 0m, (balance, e) => e.Data switch
        {
            Deposited d => balance + d.Amount,
            Withdrawn w => balance - w.Amount,
            _ => balance,
        });
    }

    protected async Task<List<LedgerRow>> LedgerAsync(string projection)
    {
        await using var db = CreateContext();
        return await db.Set<LedgerRow>().AsNoTracking().Where(r => r.Projection == projection).OrderBy(r => r.Id).ToListAsync();
    }

    protected static async Task WaitUntilCaughtUpAsync(DbContextOptions<TestDbContext> options, params string[] projections)
        => await WaitUntilAsync(async () =>
        {
            await using var db = new TestDbContext(options);
            foreach (var name in projections)
            {
                if (!(await db.Projections().GetLagAsync(name)).IsCaughtUp)
                {
                    return false;
                }
            }

            return true;
        });

    protected static async Task WaitUntilAsync(Func<Task<bool>> condition, int timeoutSeconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"The condition was not met within {timeoutSeconds} s.");
            }

            await Task.Delay(20);
        }
    }

    protected async Task<int> OrderViolationsAsync(string projection)
    {
        await using var db = CreateContext();
        return await db.Set<StreamProgress>().Where(p => p.Projection == projection).SumAsync(p => p.OrderViolations);
    }
}
