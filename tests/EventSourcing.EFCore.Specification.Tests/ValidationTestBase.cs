using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;
using static EventSourcing.EFCore.ExpectedVersion;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>How a test hands a batch to the store.</summary>
public enum AppendCall
{
    /// <summary><c>Append(…)</c> then <c>SaveChanges()</c>, as one unit of user code.</summary>
    AppendThenSaveChanges,

    /// <summary><c>Append(…)</c> then <c>SaveChangesAsync()</c>, as one unit of user code.</summary>
    AppendThenSaveChangesAsync,

    /// <summary><c>AppendAsync(…)</c>, which stages and saves.</summary>
    AppendAsync,
}

/// <summary>
/// Bad input (DESIGN.md sections 3 and 8): a typed error naming the field, and nothing written, not even the user's
/// entity added to the same context before the failing call.
/// </summary>
public abstract class ValidationTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    private const int OneMiB = 1024 * 1024;

    /// <summary>Invalid events, each the second of its batch: (row name, the event, options, the field named).</summary>
    public static IEnumerable<TestCaseData> InvalidEvents
    {
        get
        {
            var rows = new (string Name, Func<object?> Event, Action<EventSourcingDbContextOptionsBuilder>? Configure, string Field)[]
            {
                ("non-UTC timestamp", () => new EventData(new Deposited(1)) { Timestamp = new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.FromHours(2)) }, null, "Timestamp"),
                ("payload over MaxEventSize(100)", () => new Blob(new string('x', 200)), es => es.MaxEventSize(100), "Data"),
                ("payload over the default 1 MiB", () => new Blob(new string('x', OneMiB)), null, "Data"),
                ("metadata with a null value", () => new EventData(new Deposited(1)) { Metadata = new Dictionary<string, string> { ["user"] = null! } }, null, "Metadata"),
                ("metadata with an empty key", () => new EventData(new Deposited(1)) { Metadata = new Dictionary<string, string> { [""] = "x" } }, null, "Metadata"),
                ("metadata over MaxEventSize(100)", () => new EventData(new Deposited(1)) { Metadata = new Dictionary<string, string> { ["note"] = new string('x', 200) } }, es => es.MaxEventSize(100), "Metadata"),
                ("empty event id", () => new EventData(new Deposited(1)) { EventId = Guid.Empty }, null, "EventId"),
                ("null event", () => null, null, "Data"),
            };

            return from row in rows
                   from call in Enum.GetValues<AppendCall>()
                   select new TestCaseData(row.Event, row.Configure, row.Field, call).SetArgDisplayNames(row.Name, call.ToString());
        }
    }

    public static IEnumerable<TestCaseData> BadStreamParts
    {
        get
        {
            var values = new (string Name, string? Value)[]
            {
                ("null", null),
                ("empty", ""),
                ("white space", " \t "),
                ("257 characters", new string('s', StreamId.MaxLength + 1)),
                ("NUL character", "ab\0c"),
                ("line feed", "ab\nc"),
            };

            foreach (var (name, value) in values)
            {
                yield return new TestCaseData(value, "ok", "type").SetArgDisplayNames("type: " + name);
                yield return new TestCaseData("ok", value, "id").SetArgDisplayNames("id: " + name);
            }
        }
    }

    [TestCaseSource(nameof(InvalidEvents))]
    public virtual async Task An_invalid_event_is_rejected_naming_the_field_and_nothing_is_written(
        Func<object?> invalidEvent, Action<EventSourcingDbContextOptionsBuilder>? configure, string field, AppendCall call)
    {
        var stream = NewStream();
        var ex = await AssertRejectedAsync<EventValidationException>(call, stream, [new Deposited(1), invalidEvent()!], configure);
        Assert.Multiple(() =>
        {
            Assert.That(ex.Field, Is.EqualTo(field));
            Assert.That(ex.ParamName, Is.EqualTo(field));
            Assert.That(ex.EventIndex, Is.EqualTo(1));
            Assert.That(ex.StreamId, Is.EqualTo(stream));
            Assert.That(ex.Message, Does.Contain(field));
        });
    }

    [Test]
    public virtual async Task A_payload_of_exactly_MaxEventSize_bytes_is_accepted([Values] bool async)
    {
        // {"text":"…"} is 11 bytes plus the text: 89 characters make exactly 100 bytes.
        var stream = NewStream();
        await using (var db = CreateContext(es => es.MaxEventSize(100)))
        {
            db.Events().Append(stream, NoStream, new Blob(new string('x', 89)));
            await SaveAsync(db, async);
            Assert.Throws<EventValidationException>(() => db.Events().Append(stream, Exactly(1), new Blob(new string('x', 90))));
        }

        Assert.That((await ReadStreamAsync(stream)).Single().Data, Is.EqualTo(new Blob(new string('x', 89))));
    }

    [Test]
    public virtual async Task An_unregistered_event_type_is_rejected_naming_the_type_and_nothing_is_written([Values] AppendCall call)
    {
        var ex = await AssertRejectedAsync<UnknownEventTypeException>(call, NewStream(), [new Deposited(1), new NotRegistered(7)]);
        Assert.That(ex.ClrType, Is.EqualTo(typeof(NotRegistered)));
        Assert.That(ex.EventType, Is.Null);
        Assert.That(ex.Message, Does.Contain(typeof(NotRegistered).FullName!));
    }

    [Test]
    public virtual async Task A_batch_repeating_an_event_id_is_rejected_and_nothing_is_written([Values] AppendCall call)
    {
        var id = Guid.CreateVersion7();
        var ex = await AssertRejectedAsync<ArgumentException>(
            call, NewStream(), [new EventData(new Deposited(1)) { EventId = id }, new EventData(new Deposited(2)) { EventId = id }]);
        Assert.That(ex.ParamName, Is.EqualTo("events"));
        Assert.That(ex.Message, Does.Contain(id.ToString()));
    }

    [Test]
    public virtual async Task A_batch_repeating_event_ids_names_the_first_event_that_repeats_an_earlier_id([Values] AppendCall call)
    {
        var seed = Environment.GetEnvironmentVariable("EVENTSOURCING_TEST_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed} (EVENTSOURCING_TEST_SEED replays it)");
        var random = new Random(seed);
        for (var round = 0; round < 5; round++)
        {
            // More ids than the pool holds, so that at least one (often several) repeats and the pool's sort order differs from batch order.
            var pool = Enumerable.Range(0, random.Next(2, 5)).Select(_ => Guid.NewGuid()).ToArray();
            var ids = Enumerable.Range(0, random.Next(pool.Length + 1, 12)).Select(_ => pool[random.Next(pool.Length)]).ToList();

            var first = Enumerable.Range(0, ids.Count).First(i => ids.IndexOf(ids[i]) < i);
            var ex = await AssertRejectedAsync<ArgumentException>(
                call, NewStream(), ids.Select((id, n) => (object)new EventData(new Deposited(n)) { EventId = id }).ToArray());
            Assert.That(ex.ParamName, Is.EqualTo("events"));
            Assert.That(ex.Message, Does.StartWith($"Event {first} of the batch").And.Contain(ids[first].ToString()), $"ids [{string.Join(", ", ids)}] (seed {seed})");
        }
    }

    [Test]
    public virtual async Task Appending_to_a_default_StreamId_is_rejected_and_nothing_is_written([Values] AppendCall call)
    {
        var ex = await AssertRejectedAsync<ArgumentException>(call, default, [new Deposited(1)]);
        Assert.That(ex.ParamName, Is.EqualTo("streamId"));
    }

    [Test]
    public virtual async Task Reading_a_default_StreamId_is_rejected_at_the_call()
    {
        await using var db = CreateContext();
        var read = Assert.Throws<ArgumentException>(() => _ = db.Events().ReadStreamAsync(default));
        var version = Assert.Throws<ArgumentException>(() => _ = db.Events().GetStreamVersionAsync(default));
        Assert.That(read!.ParamName, Is.EqualTo("streamId"));
        Assert.That(version!.ParamName, Is.EqualTo("streamId"));
    }

    [TestCaseSource(nameof(BadStreamParts))]
    public virtual void A_bad_stream_type_or_id_is_rejected_naming_the_parameter(string? type, string? id, string parameter)
    {
        var ex = Assert.Catch<ArgumentException>(() => _ = new StreamId(type!, id!));
        Assert.That(ex!.ParamName, Is.EqualTo(parameter));
        Assert.That(ex, type is null || id is null ? Is.TypeOf<ArgumentNullException>() : Is.TypeOf<ArgumentException>());
    }

    [Test]
    public virtual async Task A_stream_type_and_id_of_256_characters_are_stored_and_read_back([Values] bool async)
    {
        var stream = new StreamId(new string('t', StreamId.MaxLength), new string('i', StreamId.MaxLength - 32) + Guid.NewGuid().ToString("N"));
        await using (var db = CreateContext())
        {
            db.Events().Append(stream, NoStream, new Deposited(1));
            await SaveAsync(db, async);
        }

        Assert.That((await ReadStreamAsync(stream)).Single().StreamId, Is.EqualTo(stream));
    }

    [Test]
    public void A_negative_exact_expected_version_is_rejected()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Exactly(-1));
        Assert.That(ex!.ParamName, Is.EqualTo("version"));
    }

    [TestCase(-1, null, "fromVersion")]
    [TestCase(long.MinValue, null, "fromVersion")]
    [TestCase(5, 4L, "toVersion")]
    [TestCase(1, 0L, "toVersion")]
    [TestCase(0, -1L, "toVersion")]
    public virtual async Task A_bad_read_range_is_rejected_at_the_call_not_at_enumeration(long fromVersion, long? toVersion, string parameter)
    {
        await using var db = CreateContext();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => _ = db.Events().ReadStreamAsync(NewStream(), fromVersion, toVersion));
        Assert.That(ex!.ParamName, Is.EqualTo(parameter));
    }

    [TestCase(0)]
    [TestCase(-1)]
    public virtual async Task A_read_all_batch_size_below_1_is_rejected_at_the_call_not_at_enumeration(int batchSize)
    {
        await using var db = CreateContext();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => _ = db.Events().ReadAllAsync(GlobalCheckpoint.Start, batchSize));
        Assert.That(ex!.ParamName, Is.EqualTo("batchSize"));
    }

    [Test]
    public virtual async Task A_context_without_UseEventSourcing_says_to_call_it()
    {
        var builder = new DbContextOptionsBuilder<ContextWithoutEventSourcingOptions>();
        Fixture.ConfigureProvider(builder);
        await using var db = new ContextWithoutEventSourcingOptions(builder.Options);

        var ex = Assert.Throws<InvalidOperationException>(() => db.Events());
        Assert.That(ex!.Message, Does.Contain("UseEventSourcing"));
    }

    [Test]
    public virtual async Task A_context_whose_model_lacks_IncludeEventStore_says_to_call_it()
    {
        var builder = new DbContextOptionsBuilder<ContextWithoutEventStoreModel>();
        Fixture.ConfigureProvider(builder);
        await using (var template = CreateContext())
        {
            // UseEventSourcing exactly as the fixture configures it, backend included, but on a model without the event store.
            foreach (var extension in template.GetService<IDbContextOptions>().Extensions.Where(e => !e.Info.IsDatabaseProvider && e is not CoreOptionsExtension))
            {
                ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(extension);
            }
        }

        await using var db = new ContextWithoutEventStoreModel(builder.Options);
        Assert.That(db.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>(), Is.Not.Null, "UseEventSourcing is configured");

        var ex = Assert.Throws<InvalidOperationException>(() => db.Events());
        Assert.That(ex!.Message, Does.Contain("IncludeEventStore"));
    }

    /// <summary>
    /// Adds a customer, makes the call, and checks it throws <typeparamref name="TException"/> and that a fresh context sees
    /// neither the customer nor any event.
    /// </summary>
    private async Task<TException> AssertRejectedAsync<TException>(
        AppendCall call, StreamId stream, object[] events, Action<EventSourcingDbContextOptionsBuilder>? configure = null)
        where TException : Exception
    {
        var customer = new Customer { Name = "Eve", Email = Guid.NewGuid() + "@example.com" };
        TException? ex;
        await using (var db = CreateContext(configure))
        {
            db.Customers.Add(customer);
            ex = call switch
            {
                AppendCall.AppendThenSaveChanges => Assert.Throws<TException>(() =>
                {
                    db.Events().Append(stream, NoStream, events);
                    db.SaveChanges();
                }),
                AppendCall.AppendThenSaveChangesAsync => Assert.ThrowsAsync<TException>(async () =>
                {
                    db.Events().Append(stream, NoStream, events);
                    await db.SaveChangesAsync();
                }),
                _ => Assert.ThrowsAsync<TException>(() => db.Events().AppendAsync(stream, NoStream, events)),
            };
        }

        await using var check = CreateContext();
        Assert.That(await check.Customers.AnyAsync(c => c.Id == customer.Id), Is.False, "the customer added before the failing call was written");
        Assert.That(await ToListAsync(check.Events().ReadAllAsync(GlobalCheckpoint.Start)), Is.Empty, "events in the store");
        if (!stream.IsDefault)
        {
            Assert.That(await check.Events().GetStreamVersionAsync(stream), Is.Null, "version of the stream");
        }

        return ex!;
    }
}

/// <summary>A context whose options lack UseEventSourcing (its model includes the event store).</summary>
public sealed class ContextWithoutEventSourcingOptions(DbContextOptions<ContextWithoutEventSourcingOptions> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.IncludeEventStore();
}

/// <summary>A context with UseEventSourcing whose model lacks IncludeEventStore.</summary>
public sealed class ContextWithoutEventStoreModel(DbContextOptions<ContextWithoutEventStoreModel> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.Entity<Customer>().ToTable("customers");
}
