using System.Runtime.CompilerServices;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Storage;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// The prefetch hook (<see cref="Projection{TContext}.PrefetchAsync"/>, <c>ProjectionBuilder.Prefetch</c>): it runs once
/// per batch before the handlers with exactly the events they apply, the rows it loads are the instances the handlers
/// get (no query of their own), a failing hook fails the whole batch whatever the error policy, and the read model is
/// the same with and without it (random histories).
/// </summary>
public abstract class ProjectionPrefetchTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private const int BatchSize = 500; // ProjectionRunner.CatchUpAsync's batch size

    [Test]
    public virtual async Task The_hook_runs_once_per_batch_with_exactly_the_events_its_handlers_apply()
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var streams = Enumerable.Range(0, 7).Select(_ => NewStream()).ToArray();
        for (var append = 0; append < 12; append++)
        {
            await using var db = CreateContext();
            var events = Enumerable.Range(0, random.Next(60, 140)).Select(_ => RandomEvent(random)).ToArray();
            await db.Events().AppendAsync(streams[random.Next(streams.Length)], ExpectedVersion.Any, events);
        }

        var probe = new Probe();
        await using (var db = CreateContext(es => es.AddProjection<TestDbContext>("p", p => Balances(p, "p", probe, prefetch: true))))
        {
            Assert.That(await db.Projections().CatchUpAsync("p"), Is.EqualTo(probe.Applied.Count));
        }

        var handled = (await ReadAllAsync()).Where(e => e.Data is Deposited or Withdrawn).Select(e => e.EventId).ToList();
        Assert.That(probe.Applied.Select(a => a.Event.EventId), Is.EqualTo(handled), "every handled event applied once, in commit order");
        Assert.That(probe.Calls, Has.Count.EqualTo((handled.Count + BatchSize - 1) / BatchSize), "one call per (full) batch, none for the empty last page");
        for (var call = 0; call < probe.Calls.Count; call++)
        {
            Assert.That(probe.Calls[call], Is.Not.Empty.And.Count.LessThanOrEqualTo(BatchSize));
            Assert.That(
                probe.Calls[call].Select(e => e.EventId),
                Is.EqualTo(probe.Applied.Where(a => a.Call == call).Select(a => a.Event.EventId)),
                $"call {call} saw exactly the events its batch's handlers applied");
        }
    }

    [Test]
    public virtual async Task The_rows_the_hook_loads_are_the_instances_the_handlers_get_without_a_query_of_their_own()
    {
        var streams = Enumerable.Range(0, 30).Select(_ => NewStream()).ToArray();
        foreach (var stream in streams)
        {
            await SeedAsync(stream, 1);
        }

        // Both projections create their rows first, so that a handler's FindAsync of a row the hook did not load would
        // query and track it (counted below).
        foreach (var (name, prefetch) in new[] { ("prefetched", true), ("plain", false) })
        {
            await using var db = CreateContext(es => es.AddProjection<TestDbContext>(name, p => Balances(p, name, new Probe(), prefetch)));
            Assert.That(await db.Projections().CatchUpAsync(name), Is.EqualTo(30));
        }

        foreach (var stream in streams)
        {
            await SeedAsync(stream, 2, ExpectedVersion.Exactly(1));
        }

        var withHook = await CatchUpCountingQueriesAsync("prefetched", prefetch: true);
        Assert.That(withHook.Calls, Has.Count.EqualTo(1));
        Assert.That(withHook.Loaded, Has.Count.EqualTo(30), "the hook loaded the 30 rows of the batch's streams in one query");
        Assert.That(withHook.QueriedByHandlers, Is.Zero, "no handler queried a row");
        Assert.That(withHook.HandlerRows, Has.Count.EqualTo(60));
        Assert.That(withHook.HandlerRows.All(withHook.Loaded.Contains), Is.True, "each handler got the instance the hook loaded");

        var withoutHook = await CatchUpCountingQueriesAsync("plain", prefetch: false);
        Assert.That(withoutHook.QueriedByHandlers, Is.EqualTo(30), "without the hook each row is queried by the first handler that needs it (the counter works)");

        foreach (var name in new[] { "prefetched", "plain" })
        {
            var rows = await RowsAsync(name);
            Assert.That(rows.Select(r => (r.Balance, r.Version, r.Operations)), Is.All.EqualTo((1m + 1 + 2, 3L, 3)), name);
        }
    }

    [Test]
    public virtual async Task A_failing_hook_fails_its_batch_whatever_the_error_policy_and_the_checkpoint_stays_before_it(
        [Values] ProjectionErrorPolicy policy)
    {
        var stream = NewStream();
        var ids = await SeedAsync(stream, BatchSize + 200);
        var broken = new StrongBox<bool>(true);
        var probe = new Probe();
        Action<EventSourcingDbContextOptionsBuilder> configure = es => es.AddProjection<TestDbContext>("fragile", p => Balances(p, "fragile", probe, prefetch: true)
            .OnError(policy)
            .Prefetch(async (db, events, ct) =>
            {
                probe.Calls.Add(events.ToList());
                if (broken.Value && probe.Calls.Count == 2)
                {
                    throw new TimeoutException("read model database unavailable");
                }

                await db.Set<AccountBalance>().Where(b => b.Projection == "fragile").LoadAsync(ct);
            }));

        await using (var db = CreateContext(configure))
        {
            var error = Assert.ThrowsAsync<ProjectionFailedException>(() => db.Projections().CatchUpAsync("fragile"));
            Assert.That(error!.InnerException, Is.TypeOf<TimeoutException>());
            Assert.That(error.Projection, Is.EqualTo("fragile"));
            Assert.That(error.EventId, Is.EqualTo(ids[BatchSize]), "named by the failing batch's first event");
            Assert.That(error.Version, Is.EqualTo(BatchSize + 1));
            Assert.That(error.Message, Does.Contain("prefetch hook").And.Contain("200 event(s)"));

            var lag = await db.Projections().GetLagAsync("fragile");
            Assert.That(error.Checkpoint, Is.EqualTo(lag.Checkpoint), "the exception names the committed checkpoint");
            Assert.That(lag.EventsBehind, Is.EqualTo(200), "the first batch committed, the failing one did not");
            Assert.That(lag.DeadLetters, Is.Zero, "no event is to blame, so none is dead-lettered");
            Assert.That(db.ChangeTracker.Entries(), Is.Empty, "nothing of the failed batch stays tracked");
        }

        Assert.That(await RowsAsync("fragile"), Has.Count.EqualTo(1));
        Assert.That((await RowsAsync("fragile"))[0].Operations, Is.EqualTo(BatchSize), "only the first batch's changes were saved");

        broken.Value = false;
        await using (var db = CreateContext(configure))
        {
            Assert.That(await db.Projections().CatchUpAsync("fragile"), Is.EqualTo(200));
            Assert.That((await db.Projections().GetLagAsync("fragile")).IsCaughtUp, Is.True);
        }

        var row = (await RowsAsync("fragile"))[0];
        Assert.That((row.Operations, row.Version), Is.EqualTo((BatchSize + 200, (long)BatchSize + 200)));
    }

    [Test]
    public virtual async Task Random_histories_project_to_the_same_read_model_and_dead_letters_with_and_without_the_hook()
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var streams = Enumerable.Range(0, random.Next(3, 15)).Select(_ => NewStream()).ToArray();

        // The hook variant's handlers use only the change tracker (Local.FindEntry): a row the hook did not load would
        // be added twice and fail the save, so this also shows that the hook runs again when a dead letter makes the
        // batch start over from a clean change tracker. Amount 13 fails (after changing the row) under DeadLetter.
        Action<EventSourcingDbContextOptionsBuilder> configure = es => es
            .AddProjection<TestDbContext>("with-hook", p => Balances(p, "with-hook", new Probe(), prefetch: true, failOn: 13).OnError(ProjectionErrorPolicy.DeadLetter))
            .AddProjection<TestDbContext>("without-hook", p => Balances(p, "without-hook", new Probe(), prefetch: false, failOn: 13).OnError(ProjectionErrorPolicy.DeadLetter));
        for (var round = 0; round < 4; round++)
        {
            for (var append = random.Next(1, 8); append > 0; append--)
            {
                await using var db = CreateContext();
                var events = Enumerable.Range(0, random.Next(1, 150)).Select(_ => RandomEvent(random)).ToArray();
                await db.Events().AppendAsync(streams[random.Next(streams.Length)], ExpectedVersion.Any, events);
            }

            await using (var db = CreateContext(configure))
            {
                Assert.That(await db.Projections().CatchUpAsync("with-hook"), Is.EqualTo(await db.Projections().CatchUpAsync("without-hook")));
            }

            var with = await RowsAsync("with-hook");
            var without = await RowsAsync("without-hook");
            Assert.That(
                with.Select(r => (r.Stream, r.Balance, r.Version, r.Operations)),
                Is.EqualTo(without.Select(r => (r.Stream, r.Balance, r.Version, r.Operations))),
                $"round {round}");
            Assert.That(await DeadLetterPositionsAsync("with-hook"), Is.EqualTo(await DeadLetterPositionsAsync("without-hook")), $"round {round}");
        }

        Assert.That(await RowsAsync("with-hook"), Is.Not.Empty);
    }

    [Test]
    public virtual async Task An_inline_hook_runs_once_per_save_with_the_events_of_the_save_before_the_handlers([Values] bool async)
    {
        var streams = new[] { NewStream(), NewStream(), NewStream() };
        var probe = new Probe();
        Action<EventSourcingDbContextOptionsBuilder> configure = es => es.AddInlineProjection<TestDbContext>("inline", p => InlineBalances(p, "inline", probe));
        await using (var db = CreateContext(configure))
        {
            foreach (var stream in streams)
            {
                db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10));
            }

            await SaveAsync(db, async);
        }

        Assert.That(probe.Calls, Has.Count.EqualTo(1));
        Assert.That(probe.Loaded, Is.Empty, "no rows yet: the handlers added them");

        probe = new Probe();
        await using (var db = CreateContext(configure))
        {
            db.Events().Append(streams[0], ExpectedVersion.Exactly(1), new Deposited(1), new Renamed("not handled"), new Withdrawn(2, "fee"));
            db.Events().Append(streams[2], ExpectedVersion.Exactly(1), new Deposited(3));
            await SaveAsync(db, async);
        }

        Assert.That(probe.Calls, Has.Count.EqualTo(1), "one call per save");
        Assert.That(probe.Calls[0].Select(e => (e.StreamId, e.Version)), Is.EqualTo(new[] { (streams[0], 2L), (streams[0], 4L), (streams[2], 2L) }));
        Assert.That(probe.Applied.Select(a => a.Event), Is.EqualTo(probe.Calls[0]), "the handlers applied what the hook saw");
        Assert.That(probe.Loaded, Has.Count.EqualTo(2));
        Assert.That(probe.HandlerRows.All(probe.Loaded.Contains), Is.True, "the handlers got the rows the hook loaded");

        var rows = await RowsAsync("inline");
        Assert.That(rows.ToDictionary(r => r.Stream, r => (r.Balance, r.Version, r.Operations)), Is.EqualTo(new Dictionary<string, (decimal, long, int)>
        {
            [streams[0].ToString()] = (9m, 4L, 3),
            [streams[1].ToString()] = (10m, 1L, 1),
            [streams[2].ToString()] = (13m, 2L, 2),
        }));
    }

    [Test]
    public virtual async Task A_failing_inline_hook_fails_the_save_and_nothing_is_written([Values] bool async)
    {
        var stream = NewStream();
        await using (var db = CreateContext(es => es.AddInlineProjection<TestDbContext>("inline", p => InlineBalances(p, "inline", new Probe())
            .Prefetch((_, _, _) => throw new TimeoutException("read model database unavailable")))))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10), new Deposited(5));
            var error = Assert.ThrowsAsync<ProjectionFailedException>(() => SaveAsync(db, async));
            Assert.That(error!.InnerException, Is.TypeOf<TimeoutException>());
            Assert.That(error.Checkpoint, Is.Null);
            Assert.That((error.StreamId, error.Version), Is.EqualTo((stream, 1L)), "named by the save's first event");
            Assert.That(error.Message, Does.Contain("prefetch hook").And.Contain("2 event(s)"));
        }

        Assert.That(await ReadStreamAsync(stream), Is.Empty);
        Assert.That(await RowsAsync("inline"), Is.Empty);
    }

    [Test]
    public virtual async Task An_inline_hook_that_does_not_complete_synchronously_fails_a_synchronous_save_and_works_in_an_asynchronous_one()
    {
        var stream = NewStream();
        Action<EventSourcingDbContextOptionsBuilder> configure = es => es.AddInlineProjection<TestDbContext>("inline", p => InlineBalances(p, "inline", new Probe())
            .Prefetch(async (_, _, _) => await Task.Yield()));
        await using (var db = CreateContext(configure))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10));
            var error = Assert.Throws<InvalidOperationException>(() => db.SaveChanges());
            Assert.That(error!.Message, Does.Contain("prefetch hook of inline projection 'inline'").And.Contain("SaveChangesAsync"));
        }

        Assert.That(await ReadStreamAsync(stream), Is.Empty, "nothing written");
        await using (var db = CreateContext(configure))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(10));
            await db.SaveChangesAsync();
        }

        Assert.That((await RowsAsync("inline")).Select(r => r.Balance), Is.EqualTo(new[] { 10m }));
    }

    /// <summary>Deposited (amount 1..20), Withdrawn or an event type the projections do not handle.</summary>
    private static object RandomEvent(Random random) => random.Next(10) switch
    {
        < 6 => new Deposited(random.Next(1, 21)),
        < 9 => new Withdrawn(random.Next(1, 21), "w"),
        _ => new Renamed("r"),
    };

    /// <summary>
    /// Balances per stream into <see cref="AccountBalance"/> rows of <paramref name="name"/>, through asynchronous handlers.
    /// With <paramref name="prefetch"/>, the hook loads the batch's rows and the handlers take them from the change tracker
    /// only (Local.FindEntry, which never queries); without it, they use FindAsync.
    /// </summary>
    private static ProjectionBuilder<TestDbContext> Balances(ProjectionBuilder<TestDbContext> p, string name, Probe probe, bool prefetch, int? failOn = null)
    {
        async Task Apply(TestDbContext db, decimal change, RecordedEvent envelope, CancellationToken ct)
        {
            var stream = envelope.StreamId.ToString();
            var row = prefetch
                ? db.Set<AccountBalance>().Local.FindEntryUntyped([name, stream])?.Entity
                : await db.Set<AccountBalance>().FindAsync([name, stream], ct);
            if (row is null)
            {
                row = new AccountBalance { Projection = name, Stream = stream };
                db.Add(row);
            }

            row.Balance += change;
            row.Version = envelope.Version;
            row.Operations++;
            probe.Record(envelope, row);
            if (Math.Abs(change) == failOn)
            {
                throw new FormatException($"{failOn} is not allowed");
            }
        }

        p.On<Deposited>((db, e, envelope, ct) => Apply(db, e.Amount, envelope, ct));
        p.On<Withdrawn>((db, e, envelope, ct) => Apply(db, -e.Amount, envelope, ct));
        if (prefetch)
        {
            p.Prefetch(async (db, events, ct) =>
            {
                probe.Calls.Add(events.ToList());
                var keys = events.Select(e => e.StreamId.ToString()).Distinct().ToList();
                var rows = await db.Set<AccountBalance>().Where(b => b.Projection == name && keys.Contains(b.Stream)).ToListAsync(ct);
                probe.Loaded.UnionWith(rows);
                probe.HandlersRunning = true;
            });
        }

        return p;
    }

    /// <summary>The inline form: synchronous hook (Load) and handlers (Local.FindEntry), usable in a synchronous SaveChanges.</summary>
    private static ProjectionBuilder<TestDbContext> InlineBalances(ProjectionBuilder<TestDbContext> p, string name, Probe probe)
    {
        void Apply(TestDbContext db, decimal change, RecordedEvent envelope)
        {
            var stream = envelope.StreamId.ToString();
            var row = db.Set<AccountBalance>().Local.FindEntryUntyped([name, stream])?.Entity;
            if (row is null)
            {
                row = new AccountBalance { Projection = name, Stream = stream };
                db.Add(row);
            }

            row.Balance += change;
            row.Version = envelope.Version;
            row.Operations++;
            probe.Record(envelope, row);
        }

        return p
            .On<Deposited>((db, e, envelope) => Apply(db, e.Amount, envelope))
            .On<Withdrawn>((db, e, envelope) => Apply(db, -e.Amount, envelope))
            .Prefetch((db, events, _) =>
            {
                probe.Calls.Add(events.ToList());
                var keys = events.Select(e => e.StreamId.ToString()).Distinct().ToList();
                probe.Loaded.UnionWith(db.Set<AccountBalance>().Where(b => b.Projection == name && keys.Contains(b.Stream)).ToList());
                return Task.CompletedTask;
            });
    }

    /// <summary>Catches up on a context that counts the read-model rows tracked from a query while the handlers run.</summary>
    private async Task<Probe> CatchUpCountingQueriesAsync(string name, bool prefetch)
    {
        var probe = new Probe { HandlersRunning = !prefetch };
        await using var db = CreateContext(es => es.AddProjection<TestDbContext>(name, p => Balances(p, name, probe, prefetch)));
        db.ChangeTracker.Tracked += (_, e) =>
        {
            if (e.FromQuery && e.Entry.Entity is AccountBalance && probe.HandlersRunning)
            {
                probe.QueriedByHandlers++;
            }
        };
        Assert.That(await db.Projections().CatchUpAsync(name), Is.EqualTo(60));
        return probe;
    }

    private async Task<List<AccountBalance>> RowsAsync(string projection)
    {
        await using var db = CreateContext();
        return await db.Set<AccountBalance>().Where(b => b.Projection == projection).OrderBy(b => b.Stream).ToListAsync();
    }

    private async Task<long[]> DeadLetterPositionsAsync(string projection)
    {
        await using var db = CreateContext();
        return await db.Set<ProjectionDeadLetter>().Where(d => d.Projection == projection).OrderBy(d => d.GlobalPosition).Select(d => d.GlobalPosition).ToArrayAsync();
    }

    /// <summary>What the hook and the handlers saw.</summary>
    private sealed class Probe
    {
        public List<List<RecordedEvent>> Calls { get; } = [];

        public List<(int Call, RecordedEvent Event)> Applied { get; } = [];

        public HashSet<AccountBalance> Loaded { get; } = new(ReferenceEqualityComparer.Instance);

        public List<AccountBalance> HandlerRows { get; } = [];

        public bool HandlersRunning { get; set; }

        public int QueriedByHandlers { get; set; }

        public void Record(RecordedEvent envelope, AccountBalance row)
        {
            Applied.Add((Calls.Count - 1, envelope));
            HandlerRows.Add(row);
        }
    }
}
