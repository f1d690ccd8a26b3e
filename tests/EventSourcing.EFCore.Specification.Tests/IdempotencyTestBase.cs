using Microsoft.EntityFrameworkCore;
using System.Data.Common;
using EventSourcing.EFCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Diagnostics;
using NUnit.Framework;
using static EventSourcing.EFCore.ExpectedVersion;
using static EventSourcing.EFCore.Specification.Tests.IdempotencyMatrix;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// DESIGN.md section 5, rules 1–4, as one table: what is stored, what one SaveChanges stages, and what must happen.
/// Every row runs through both SaveChanges paths, and every row checks what was (not) written afterwards: the content
/// of every stream the row names, the store's total event count, and a customer added to the same save.
/// </summary>
public abstract class IdempotencyTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    public static IEnumerable<TestCaseData> Cases
        => from row in Rows
           from async in new[] { false, true }
           select new TestCaseData(row, async).SetArgDisplayNames(row.Name, async ? "async" : "sync");

    [TestCaseSource(nameof(Cases))]
    public virtual async Task One_SaveChanges_against_stored_events_has_the_outcome_the_matrix_gives(IdempotencyCase row, bool async)
    {
        var names = new Names();
        foreach (var stored in row.Given)
        {
            await using var seed = CreateContext();
            var events = stored.Ids.Select((id, i) => new EventData(new Deposited(i + 1)) { EventId = names.Id(id) }).ToArray();
            await seed.Events().AppendAsync(names.Stream(stored.Stream), Any, events);
        }

        var customer = new Customer { Name = "Grace", Email = Guid.NewGuid() + "@example.com" };
        var commands = new CommandCounter();
        await using (var db = CreateContext(es => ((IEventSourcingDbContextOptionsBuilderInfrastructure)es).OptionsBuilder.AddInterceptors(commands)))
        {
            db.Customers.Add(customer);
            if (row.Then is RejectedByAppend)
            {
                await StageRejectedBatchAsync(db, row, names, commands, async);
            }
            else
            {
                foreach (var batch in row.When)
                {
                    db.Events().Append(names.Stream(batch.Stream), batch.Expected, batch.Ids.Select(id => (object)Event(names, id)).ToArray());
                }

                await SaveAndCheckOutcomeAsync(db, row, names, async);
            }
        }

        await AssertStoreHoldsAsync(row, names, customer);
    }

    /// <summary>
    /// Event ids are unique store-wide (section 5), also when one save stages the same new id for two streams: the save
    /// fails as a DbUpdateException and writes nothing. (The matrix row "one new id in two batches of one save" pins the
    /// exact exception; this test pins the invariant, so a failure shows what was actually stored.)
    /// </summary>
    [Test]
    public virtual async Task An_event_id_staged_for_two_streams_in_one_save_is_never_stored_twice([Values] bool async)
    {
        var id = Guid.CreateVersion7();
        var (a, b) = (NewStream(), NewStream());
        await Assert.MultipleAsync(async () =>
        {
            await using (var db = CreateContext())
            {
                db.Events().Append(a, NoStream, new EventData(new Deposited(1)) { EventId = id });
                db.Events().Append(b, NoStream, new EventData(new Deposited(2)) { EventId = id });
                Assert.CatchAsync<DbUpdateException>(() => SaveAsync(db, async), "the save must fail");
            }

            var stored = (await ReadAllAsync()).Where(e => e.EventId == id).Select(e => $"{e.StreamId}@{e.Version}").ToList();
            Assert.That(stored, Is.Empty, "where the id was stored");
        });
    }

    private static async Task SaveAndCheckOutcomeAsync(TestDbContext db, IdempotencyCase row, Names names, bool async)
    {
        switch (row.Then)
        {
            case Succeeds succeeds:
                await SaveAsync(db, async);
                foreach (var (stream, version) in succeeds.Versions)
                {
                    Assert.That(await db.Events().GetStreamVersionAsync(names.Stream(stream)), Is.EqualTo(version), $"version of stream {stream}");
                }

                break;

            case AlreadyAppended expected:
            {
                var ex = Assert.ThrowsAsync<EventsAlreadyAppendedException>(() => SaveAsync(db, async));
                Assert.Multiple(() =>
                {
                    Assert.That(ex!.StreamId, Is.EqualTo(names.Stream(expected.Stream)), nameof(ex.StreamId));
                    Assert.That(ex.FirstVersion, Is.EqualTo(expected.FirstVersion), nameof(ex.FirstVersion));
                    Assert.That(ex.LastVersion, Is.EqualTo(expected.LastVersion), nameof(ex.LastVersion));
                    Assert.That(ex.CurrentVersion, Is.EqualTo(expected.CurrentVersion), nameof(ex.CurrentVersion));
                });
                break;
            }

            case DuplicateId expected:
            {
                var ex = Assert.ThrowsAsync<DuplicateEventIdException>(() => SaveAsync(db, async));
                Assert.Multiple(() =>
                {
                    Assert.That(ex!.EventId, Is.EqualTo(names.Id(expected.EventId)), nameof(ex.EventId));
                    Assert.That(ex.StreamId, Is.EqualTo(names.Stream(expected.Stream)), nameof(ex.StreamId));
                    Assert.That(ex.ExistingStreamId, Is.EqualTo(names.Stream(expected.ExistingStream)), nameof(ex.ExistingStreamId));
                    Assert.That(ex.ExistingVersion, Is.EqualTo(expected.ExistingVersion), nameof(ex.ExistingVersion));
                });
                break;
            }

            case VersionConflict expected:
            {
                var ex = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));
                Assert.Multiple(() =>
                {
                    Assert.That(ex!.StreamId, Is.EqualTo(names.Stream(expected.Stream)), nameof(ex.StreamId));
                    Assert.That(ex.ExpectedVersion, Is.EqualTo(expected.Expected), nameof(ex.ExpectedVersion));
                    Assert.That(ex.ActualVersion, Is.EqualTo(expected.Actual), nameof(ex.ActualVersion));
                });
                break;
            }

            case NotFound expected:
            {
                var ex = Assert.ThrowsAsync<StreamNotFoundException>(() => SaveAsync(db, async));
                Assert.That(ex!.StreamId, Is.EqualTo(names.Stream(expected.Stream)));
                break;
            }

            default:
                throw new InvalidOperationException("Unknown outcome " + row.Then);
        }
    }

    /// <summary>Rule 1: Append itself throws, before any command; nothing is staged, so the next save writes only the customer.</summary>
    private static async Task StageRejectedBatchAsync(TestDbContext db, IdempotencyCase row, Names names, CommandCounter commands, bool async)
    {
        Assert.That(row.When, Has.Count.EqualTo(1), "a rule 1 row stages exactly one batch");
        var batch = row.When[0];
        var stream = names.Stream(batch.Stream);
        var events = batch.Ids.Select(id => (object)Event(names, id)).ToArray();

        var ex = Assert.Throws<ArgumentException>(() => db.Events().Append(stream, batch.Expected, events));
        Assert.That(ex!.ParamName, Is.EqualTo("events"));
        Assert.That(commands.Count, Is.Zero, "database commands run by the rejected Append");

        Assert.That(await SaveAsync(db, async), Is.EqualTo(1), "rows written by the next SaveChanges (the customer only)");
    }

    private async Task AssertStoreHoldsAsync(IdempotencyCase row, Names names, Customer customer)
    {
        var expected = new Dictionary<string, List<string>>();
        foreach (var stored in row.Given)
        {
            Contents(stored.Stream).AddRange(stored.Ids);
        }

        var saved = row.Then is Succeeds or RejectedByAppend;
        foreach (var batch in row.When)
        {
            var contents = Contents(batch.Stream);
            if (row.Then is Succeeds)
            {
                contents.AddRange(batch.Ids);
            }
        }

        await using var check = CreateContext();
        foreach (var (stream, ids) in expected)
        {
            var events = await ToListAsync(check.Events().ReadStreamAsync(names.Stream(stream)));
            Assert.That(events.Select(e => e.EventId), Is.EqualTo(ids.Select(names.Id)), $"event ids of stream {stream}");
            Assert.That(events.Select(e => e.Version), Is.EqualTo(Enumerable.Range(1, ids.Count).Select(v => (long)v)), $"versions of stream {stream}");
            Assert.That(
                await check.Events().GetStreamVersionAsync(names.Stream(stream)),
                Is.EqualTo(ids.Count == 0 ? null : (long?)ids.Count),
                $"version of stream {stream}");
        }

        var all = await ToListAsync(check.Events().ReadAllAsync(GlobalCheckpoint.Start));
        Assert.That(all, Has.Count.EqualTo(expected.Values.Sum(ids => ids.Count)), "events in the whole store");
        Assert.That(await check.Customers.AnyAsync(c => c.Id == customer.Id), Is.EqualTo(saved), "the customer added to the same save was written");

        List<string> Contents(string stream)
        {
            if (!expected.TryGetValue(stream, out var ids))
            {
                expected[stream] = ids = [];
            }

            return ids;
        }
    }

    private static EventData Event(Names names, string id) => new(new Deposited(100)) { EventId = names.Id(id) };

    /// <summary>Maps the matrix's symbolic stream and event names to fresh values for one test run.</summary>
    private sealed class Names
    {
        private readonly Dictionary<string, StreamId> _streams = [];
        private readonly Dictionary<string, Guid> _ids = [];

        public StreamId Stream(string name)
        {
            if (!_streams.TryGetValue(name, out var stream))
            {
                _streams[name] = stream = new StreamId("account", name + "-" + Guid.NewGuid().ToString("N"));
            }

            return stream;
        }

        public Guid Id(string name)
        {
            if (!_ids.TryGetValue(name, out var id))
            {
                _ids[name] = id = Guid.CreateVersion7();
            }

            return id;
        }
    }

    /// <summary>Counts the database commands a context runs (none on EF InMemory, which runs no commands at all).</summary>
    private sealed class CommandCounter : DbCommandInterceptor
    {
        private int _count;

        public int Count => _count;

        public override InterceptionResult<DbDataReader> ReaderExecuting(
            DbCommand command,
            CommandEventData eventData,
            InterceptionResult<DbDataReader> result)
        {
            Interlocked.Increment(ref _count);
            return result;
        }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
            DbCommand command,
            CommandEventData eventData,
            InterceptionResult<DbDataReader> result,
            CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _count);
            return ValueTask.FromResult(result);
        }

        public override InterceptionResult<int> NonQueryExecuting(
            DbCommand command,
            CommandEventData eventData,
            InterceptionResult<int> result)
        {
            Interlocked.Increment(ref _count);
            return result;
        }

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
            DbCommand command,
            CommandEventData eventData,
            InterceptionResult<int> result,
            CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _count);
            return ValueTask.FromResult(result);
        }

        public override InterceptionResult<object> ScalarExecuting(
            DbCommand command,
            CommandEventData eventData,
            InterceptionResult<object> result)
        {
            Interlocked.Increment(ref _count);
            return result;
        }

        public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(
            DbCommand command,
            CommandEventData eventData,
            InterceptionResult<object> result,
            CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _count);
            return ValueTask.FromResult(result);
        }
    }
}

/// <summary>
/// The idempotency matrix (DESIGN.md section 5). Streams are named A, B, C; stored ids a*, b*; ids never stored n*.
/// Given: batches already stored, in order (A: a1 a2 puts a1 at version 1). When: the batches staged for one SaveChanges,
/// in staging order. Then: the outcome. Rows that fail write nothing, which every row checks.
/// </summary>
public static class IdempotencyMatrix
{
    public static IReadOnlyList<IdempotencyCase> Rows { get; } =
    [
        // Baselines: fresh ids at the expected version are written.
        Row("fresh ids at the current version",                  [S("A", "a1", "a2")],                 [W("A", Exactly(2), "n1", "n2")],                   Ok(("A", 4))),
        Row("fresh ids on two streams",                          [S("A", "a1")],                       [W("A", Exactly(1), "n1"), W("B", NoStream, "n2")], Ok(("A", 2), ("B", 1))),

        // Rule 2: replay. Every id stored in that stream, at consecutive versions in batch order, whatever the expected version.
        Row("exact replay, same expected version",               [S("A", "a1", "a2")],                 [W("A", NoStream, "a1", "a2")],                     Replayed("A", 1, 2, current: 2)),
        Row("exact replay of a later batch",                     [S("A", "a1", "a2"), S("A", "a3", "a4")], [W("A", Exactly(2), "a3", "a4")],               Replayed("A", 3, 4, current: 4)),
        Row("replay after the stream grew (stale expected)",     [S("A", "a1", "a2"), S("A", "a3")],   [W("A", NoStream, "a1", "a2")],                     Replayed("A", 1, 2, current: 3)),
        Row("replay with Any",                                   [S("A", "a1", "a2")],                 [W("A", Any, "a1", "a2")],                          Replayed("A", 1, 2, current: 2)),
        Row("replay with StreamExists",                          [S("A", "a1", "a2")],                 [W("A", StreamExists, "a1", "a2")],                 Replayed("A", 1, 2, current: 2)),
        Row("replay expecting the current version",              [S("A", "a1", "a2")],                 [W("A", Exactly(2), "a1", "a2")],                   Replayed("A", 1, 2, current: 2)),
        Row("replay of the middle id only",                      [S("A", "a1", "a2", "a3")],           [W("A", Exactly(1), "a2")],                         Replayed("A", 2, 2, current: 3)),
        Row("replay of the last two ids",                        [S("A", "a1", "a2", "a3")],           [W("A", Exactly(1), "a2", "a3")],                   Replayed("A", 2, 3, current: 3)),
        Row("replay of the first two ids",                       [S("A", "a1", "a2", "a3")],           [W("A", NoStream, "a1", "a2")],                     Replayed("A", 1, 2, current: 3)),
        Row("replay of a run spanning two stored batches",       [S("A", "a1", "a2"), S("A", "a3")],   [W("A", Exactly(1), "a2", "a3")],                   Replayed("A", 2, 3, current: 3)),
        Row("two replayed batches on two streams",               [S("A", "a1", "a2"), S("B", "b1")],   [W("A", NoStream, "a1", "a2"), W("B", NoStream, "b1")], Replayed("A", 1, 2, current: 2)),
        Row("two replayed batches on one stream",                [S("A", "a1", "a2")],                 [W("A", NoStream, "a1"), W("A", Exactly(1), "a2")], Replayed("A", 1, 1, current: 2)),

        // Rule 3: id clash. Stored elsewhere: another stream, another position, or only part of the batch.
        Row("same ids in a different order",                     [S("A", "a1", "a2")],                 [W("A", NoStream, "a2", "a1")],                     Duplicate("a2", to: "A", storedIn: "A", at: 2)),
        Row("stored ids at non-consecutive versions",            [S("A", "a1", "a2", "a3")],           [W("A", NoStream, "a1", "a3")],                     Duplicate("a1", to: "A", storedIn: "A", at: 1)),
        Row("an id stored in another stream",                    [S("B", "b1", "b2")],                 [W("A", NoStream, "b2")],                           Duplicate("b2", to: "A", storedIn: "B", at: 2)),
        Row("another stream's batch replayed into this one",     [S("B", "b1", "b2")],                 [W("A", NoStream, "b1", "b2")],                     Duplicate("b1", to: "A", storedIn: "B", at: 1)),
        Row("a stored id then a new id",                         [S("A", "a1")],                       [W("A", Exactly(1), "a1", "n1")],                   Duplicate("a1", to: "A", storedIn: "A", at: 1)),
        Row("a new id then a stored id",                         [S("A", "a1")],                       [W("A", Exactly(1), "n1", "a1")],                   Duplicate("a1", to: "A", storedIn: "A", at: 1)),
        Row("a replay plus a new batch for another stream",      [S("A", "a1", "a2")],                 [W("A", NoStream, "a1", "a2"), W("B", NoStream, "n1")], Duplicate("a1", to: "A", storedIn: "A", at: 1)),
        Row("a new batch for another stream plus a replay",      [S("A", "a1", "a2")],                 [W("B", NoStream, "n1"), W("A", NoStream, "a1", "a2")], Duplicate("a1", to: "A", storedIn: "A", at: 1)),
        Row("a replay plus new events for the same stream",      [S("A", "a1", "a2")],                 [W("A", NoStream, "a1", "a2"), W("A", Exactly(2), "n1")], Duplicate("a1", to: "A", storedIn: "A", at: 1)),
        Row("a replay plus an id clash in another batch",        [S("A", "a1", "a2"), S("B", "b1")],   [W("A", NoStream, "a1", "a2"), W("C", NoStream, "b1")], Duplicate("b1", to: "C", storedIn: "B", at: 1)),
        Row("an id clash and a stale expected version",          [S("A", "a1", "a2"), S("B", "b1")],   [W("A", Exactly(1), "b1")],                         Duplicate("b1", to: "A", storedIn: "B", at: 1)),
        Row("one new id in two batches of one save",             [],                                   [W("A", NoStream, "n1"), W("B", NoStream, "n1")],   Duplicate("n1", to: "B", storedIn: "A", at: 1)),
        Row("one new id in two batches of one stream",           [],                                   [W("A", NoStream, "n1"), W("A", Exactly(1), "n1")], Duplicate("n1", to: "A", storedIn: "A", at: 1)),

        // Rule 4: version. A conflict anywhere in the save outranks a replay.
        Row("fresh ids with NoStream on an existing stream",     [S("A", "a1")],                       [W("A", NoStream, "n1")],                           Conflict("A", NoStream, actual: 1)),
        Row("fresh ids with a stale expected version",           [S("A", "a1", "a2", "a3")],           [W("A", Exactly(2), "n1")],                         Conflict("A", Exactly(2), actual: 3)),
        Row("fresh ids with an expected version ahead",          [S("A", "a1")],                       [W("A", Exactly(3), "n1")],                         Conflict("A", Exactly(3), actual: 1)),
        Row("fresh ids expecting a version of a missing stream", [],                                   [W("A", Exactly(2), "n1")],                         Conflict("A", Exactly(2), actual: null)),
        Row("fresh ids with StreamExists on a missing stream",   [],                                   [W("A", StreamExists, "n1")],                       StreamNotFound("A")),
        Row("a fresh batch plus a stale batch",                  [S("A", "a1")],                       [W("B", NoStream, "n1"), W("A", NoStream, "n2")],   Conflict("A", NoStream, actual: 1)),
        Row("a replay plus a stale batch",                       [S("A", "a1", "a2"), S("B", "b1", "b2")], [W("A", NoStream, "a1", "a2"), W("B", Exactly(1), "n1")], Conflict("B", Exactly(1), actual: 2)),
        Row("a stale batch plus a replay",                       [S("A", "a1", "a2"), S("B", "b1", "b2")], [W("B", Exactly(1), "n1"), W("A", NoStream, "a1", "a2")], Conflict("B", Exactly(1), actual: 2)),

        // Rule 1: a batch repeating an id inside itself never reaches the database.
        Row("a batch repeating a new id",                        [],                                   [W("A", NoStream, "n1", "n1")],                     RejectedByAppend.Instance),
        Row("a batch repeating a stored id",                     [S("A", "a1")],                       [W("A", NoStream, "a1", "a1")],                     RejectedByAppend.Instance),

        // Empty batches write nothing and create no stream, but their expected version is checked.
        Row("empty batch at the current version",                [S("A", "a1", "a2")],                 [W("A", Exactly(2))],                               Ok(("A", 2))),
        Row("empty batch with NoStream on a missing stream",     [],                                   [W("A", NoStream)],                                 Ok(("A", null))),
        Row("empty batch with a stale version",                  [S("A", "a1", "a2")],                 [W("A", Exactly(1))],                               Conflict("A", Exactly(1), actual: 2)),
        Row("empty batch with NoStream on an existing stream",   [S("A", "a1", "a2")],                 [W("A", NoStream)],                                 Conflict("A", NoStream, actual: 2)),
        Row("empty batch expecting a version of a missing stream", [],                                 [W("A", Exactly(1))],                               Conflict("A", Exactly(1), actual: null)),
        Row("empty batch with StreamExists on a missing stream", [],                                   [W("A", StreamExists)],                             StreamNotFound("A")),
        Row("empty stale batch plus a fresh batch",              [S("A", "a1", "a2")],                 [W("B", NoStream, "n1"), W("A", Exactly(1))],       Conflict("A", Exactly(1), actual: 2)),
    ];

    private static IdempotencyCase Row(string name, Stored[] given, Staged[] when, Outcome then) => new(name, given, when, then);

    private static Stored S(string stream, params string[] ids) => new(stream, ids);

    private static Staged W(string stream, ExpectedVersion expected, params string[] ids) => new(stream, expected, ids);

    private static Succeeds Ok(params (string Stream, long? Version)[] versions) => new(versions);

    private static AlreadyAppended Replayed(string stream, long first, long last, long current) => new(stream, first, last, current);

    private static DuplicateId Duplicate(string id, string to, string storedIn, long at) => new(id, to, storedIn, at);

    private static VersionConflict Conflict(string stream, ExpectedVersion expected, long? actual) => new(stream, expected, actual);

    private static NotFound StreamNotFound(string stream) => new(stream);
}

/// <summary>One row of the matrix.</summary>
public sealed record IdempotencyCase(string Name, IReadOnlyList<Stored> Given, IReadOnlyList<Staged> When, Outcome Then)
{
    public override string ToString() => Name;
}

/// <summary>A batch already stored before the save (appended with Any).</summary>
public sealed record Stored(string Stream, IReadOnlyList<string> Ids);

/// <summary>A batch staged with Append for the save.</summary>
public sealed record Staged(string Stream, ExpectedVersion Expected, IReadOnlyList<string> Ids);

/// <summary>What the save does.</summary>
public abstract record Outcome;

/// <summary>The save succeeds; the streams are then at these versions (null: no stream).</summary>
public sealed record Succeeds(IReadOnlyList<(string Stream, long? Version)> Versions) : Outcome;

/// <summary>The save throws <see cref="EventsAlreadyAppendedException"/> with this data.</summary>
public sealed record AlreadyAppended(string Stream, long FirstVersion, long LastVersion, long CurrentVersion) : Outcome;

/// <summary>The save throws <see cref="DuplicateEventIdException"/> with this data.</summary>
public sealed record DuplicateId(string EventId, string Stream, string ExistingStream, long ExistingVersion) : Outcome;

/// <summary>The save throws <see cref="StreamConcurrencyException"/> with this data.</summary>
public sealed record VersionConflict(string Stream, ExpectedVersion Expected, long? Actual) : Outcome;

/// <summary>The save throws <see cref="StreamNotFoundException"/> for this stream.</summary>
public sealed record NotFound(string Stream) : Outcome;

/// <summary>Append itself throws <see cref="ArgumentException"/> (rule 1) and stages nothing.</summary>
public sealed record RejectedByAppend : Outcome
{
    public static RejectedByAppend Instance { get; } = new();
}
