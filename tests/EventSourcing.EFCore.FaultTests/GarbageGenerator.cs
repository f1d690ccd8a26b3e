using EventSourcing.EFCore.FaultTests.Worker;
using EventSourcing.EFCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>One malformed input: the field it is wrong in, what it is, and how it is sent through a public entry point.</summary>
/// <remarks>
/// <see cref="Configuration"/> inputs go through options builders and service registrations: there the house rule makes
/// <see cref="InvalidOperationException"/> (saying what to fix) a typed answer too.
/// </remarks>
public sealed record GarbageInput(string Field, string Description, Func<GarbageTarget, Task> Send)
{
    public bool Configuration { get; init; }
}

/// <summary>What an input is sent to: fresh contexts on the garbage database, whose I/O is counted.</summary>
public sealed class GarbageTarget(string connectionString, DbContextOptions<FaultDbContext> options, IoCounter io)
{
    public string ConnectionString { get; } = connectionString;

    public IoCounter Io { get; } = io;

    public FaultDbContext NewContext() => new(options);

    /// <summary>Builds options with <paramref name="configure"/> applied inside <c>UseEventSourcing</c>, creates a context and uses it.</summary>
    public async Task ConfigureAsync(Action<EventSourcingDbContextOptionsBuilder> configure)
    {
        await using var db = new FaultDbContext(FaultStore.CreateOptions(ConnectionString, eventSourcing: configure, configure: b => b.AddInterceptors(Io)));
        _ = db.Events();
        await db.Transfers.AnyAsync();
    }

    /// <summary>Stages <paramref name="events"/> on a new stream with a user row beside them, then saves (sync or async).</summary>
    public async Task AppendAndSaveAsync(bool sync, params object[] events)
    {
        await using var db = NewContext();
        db.Transfers.Add(new Transfer { Unit = -Random.Shared.NextInt64(1, long.MaxValue), From = "garbage", To = "garbage" });
        db.Events().Append(new StreamId("garbage", Guid.NewGuid().ToString("N")), ExpectedVersion.NoStream, events);
        if (sync)
        {
            db.SaveChanges();
        }
        else
        {
            await db.SaveChangesAsync();
        }
    }
}

/// <summary>
/// The garbage generator: at least 25 categories of malformed input, each producing as many seeded random variants as
/// asked, sent through the library's public entry points (stream ids, appends, reads, aggregates, projections, outbox,
/// options builders and hosted-service registrations).
/// </summary>
public static class GarbageGenerator
{
    public const int ExistingAccounts = 4;

    private static readonly (string Name, Func<Random, int, GarbageInput> Make)[] All =
    [
        ("stream type: empty or white space", (r, i) => StreamIdInput(r, i, "type", Blank(r), null)),
        ("stream type: too long", (r, _) => StreamIdInput(r, 0, "type", Letters(r, StreamId.MaxLength + 1 + r.Next(4000)), null)),
        ("stream type: control characters", (r, i) => StreamIdInput(r, i, "type", WithChar(r, Letters(r, 8), Control(r)), null)),
        ("stream type: NUL", (r, i) => StreamIdInput(r, i, "type", WithChar(r, Letters(r, 8), '\0'), null)),
        ("stream type: lone surrogate", (r, i) => StreamIdInput(r, i, "type", WithChar(r, Letters(r, 8), LoneSurrogate(r)), null)),
        ("stream id: empty, white space or null", (r, i) => StreamIdInput(r, i, "id", null, i % 4 == 0 ? NullText : Blank(r))),
        ("stream id: too long", (r, i) => StreamIdInput(r, i, "id", null, Letters(r, StreamId.MaxLength + 1 + r.Next(4000)))),
        ("stream id: control characters", (r, i) => StreamIdInput(r, i, "id", null, WithChar(r, Letters(r, 8), Control(r)))),
        ("stream id: NUL", (r, i) => StreamIdInput(r, i, "id", null, WithChar(r, Letters(r, 8), '\0'))),
        ("stream id: lone surrogate", (r, i) => StreamIdInput(r, i, "id", null, WithChar(r, Letters(r, 8), LoneSurrogate(r)))),
        ("stream id: default StreamId", (_, i) => DefaultStreamInput(i)),
        ("aggregate id: empty, too long, NUL, control, lone surrogate", (r, i) => AggregateIdInput(r, i)),
        ("payload: NUL in a string", (r, i) => PayloadInput(i, "Data", "NUL in a string", new TextChanged(WithChar(r, Letters(r, 10), '\0')))),
        ("payload: lone surrogate in a string", (r, i) => PayloadInput(i, "Data", "lone surrogate in a string", new TextChanged(WithChar(r, Letters(r, 10), LoneSurrogate(r))))),
        ("payload: deep nesting", (r, i) => PayloadInput(i, "Data", "nesting", new TreeGrown(Nested(65 + r.Next(2000))))),
        ("payload: huge string", (r, i) => PayloadInput(i, "Data", "huge string", new TextChanged(Letters(r, (1 << 20) + 1 + r.Next(3 << 20))))),
        ("payload: cycle", (_, i) => PayloadInput(i, "Data", "cycle", new TreeGrown(Cycle()))),
        ("payload: unserializable member", (_, i) => PayloadInput(i, "Data", "unserializable member", (i % 3) switch
        {
            0 => new HandleOpened(new IntPtr(42)),
            1 => new TypeNoted(typeof(string)),
            _ => new CallbackSet(() => 1),
        })),
        ("payload: null, unregistered or anonymous event", (_, i) => PayloadInput(i, (i % 3) == 0 ? "Data" : "event type", (i % 3) == 0 ? "null event" : "unregistered event type", (i % 3) switch
        {
            0 => null!,
            1 => new NotRegistered(1),
            _ => new { Unregistered = true },
        })),
        ("metadata keys: empty, NUL, control, lone surrogate", (r, i) => MetadataInput(r, i, key: true)),
        ("metadata values: null, NUL, lone surrogate, huge", (r, i) => MetadataInput(r, i, key: false)),
        ("expected version: negative", (r, i) => new GarbageInput("version", "ExpectedVersion.Exactly(negative)", target =>
        {
            _ = ExpectedVersion.Exactly(-1 - r.NextInt64(0, i % 2 == 0 ? 10 : long.MaxValue - 1));
            return Task.CompletedTask;
        })),
        ("expected version: at and beyond the limit", (r, i) => ExpectedVersionLimitInput(r, i)),
        ("event id: empty", (_, i) => PayloadInput(i, "EventId", "Guid.Empty", new EventData(new TextChanged("x")) { EventId = Guid.Empty })),
        ("event id: duplicated within a batch", (_, i) =>
        {
            var id = Guid.NewGuid();
            var events = Enumerable.Range(0, 2 + (i % 3)).Select(n => (object)new EventData(new TextChanged("x" + n)) { EventId = id }).ToArray();
            return new GarbageInput("EventId", $"one id on {events.Length} events of a batch", t => t.AppendAndSaveAsync(i % 2 == 0, events));
        }),
        ("timestamp: not UTC", (r, i) => PayloadInput(i, "Timestamp", "non-UTC offset",
            new EventData(new TextChanged("x")) { Timestamp = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(1 + r.Next(12))) })),
        ("checkpoint strings", (r, i) => CheckpointInput(r, i)),
        ("read ranges: versions and batch sizes", (r, i) => ReadRangeInput(r, i)),
        ("projection names: run, rebuild, lag", (r, i) => ProjectionNameInput(r, i)),
        ("projection names: registration", (r, i) =>
        {
            var name = BadName(r, i, Projection.MaxNameLength);
            return new GarbageInput("name", $"AddProjection({Show(name)})", t => t.ConfigureAsync(es =>
                es.AddProjection<FaultDbContext>(name, p => p.On<Moved>((_, _, _) => { })))) { Configuration = true };
        }),
        ("destination names", (r, i) =>
        {
            var destination = BadName(r, i, 256);
            return new GarbageInput("destination", $"{(i % 2 == 0 ? "PublishAll" : "Publish<Moved>")}({Show(destination)})", t => t.ConfigureAsync(es =>
                es.UseOutbox(o => _ = (i % 2) == 0 ? o.PublishAll(destination) : o.Publish<Moved>(destination)))) { Configuration = true };
        }),
        ("event type names", (r, i) =>
        {
            var (name, version) = i % 4 == 3 ? ("fault.not-registered", -r.Next(0, 1000)) : (BadName(r, i, 256), 1);
            return new GarbageInput(i % 4 == 3 ? "version" : "name", $"MapEvent<NotRegistered>({Show(name)}, {version})", t => t.ConfigureAsync(es =>
                es.MapEvent<NotRegistered>(name, version))) { Configuration = true };
        }),
        ("options values: event store", (r, i) => StoreOptionInput(r, i) with { Configuration = true }),
        ("options values: outbox", (r, i) => OutboxOptionInput(r, i) with { Configuration = true }),
        ("options values: hosted services", (r, i) => HostedOptionInput(r, i) with { Configuration = true }),
        ("outbox calls: requeue and dispatch arguments", (r, i) => new GarbageInput(i % 2 == 0 ? "messageId" : "publisher", i % 2 == 0 ? "RequeueAsync(Guid.Empty)" : "DispatchPendingAsync(null)", async t =>
        {
            await using var db = t.NewContext();
            _ = i % 2 == 0 ? await db.Outbox().RequeueAsync(Guid.Empty) : await db.Outbox().DispatchPendingAsync(null!);
        })),
    ];

    public static IEnumerable<string> Categories => All.Select(c => c.Name);

    public static IReadOnlyList<GarbageInput> Generate(string category, int count, int seed)
    {
        var make = All.Single(c => c.Name == category).Make;
        var random = new Random(HashCode.Combine(seed, StableHash(category)));
        return Enumerable.Range(0, count).Select(i => make(random, i)).ToList();
    }

    private static int StableHash(string text) => text.Aggregate(17, (h, c) => unchecked((h * 31) + c));

    // ---------------------------------------------------------------- text

    private static string Letters(Random r, int length) => string.Create(length, r, (span, random) =>
    {
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = (char)('a' + random.Next(26));
        }
    });

    private static string Blank(Random r) => r.Next(3) switch { 0 => "", 1 => new string(' ', 1 + r.Next(5)), _ => "\t \r\n" };

    private static char Control(Random r) => r.Next(3) switch
    {
        0 => (char)r.Next(1, 0x20),
        1 => (char)0x7f,
        _ => (char)r.Next(0x80, 0xa0),
    };

    private static char LoneSurrogate(Random r) => (char)r.Next(0xd800, 0xe000);

    private static string WithChar(Random r, string text, char c)
    {
        var at = r.Next(text.Length + 1);
        return text[..at] + c + text[at..];
    }

    private static string BadName(Random r, int i, int maxLength) => (i % 6) switch
    {
        0 => Blank(r),
        1 => Letters(r, maxLength + 1 + r.Next(1000)),
        2 => WithChar(r, Letters(r, 6), '\0'),
        3 => WithChar(r, Letters(r, 6), Control(r)),
        4 => null!,
        _ => WithChar(r, Letters(r, 6), LoneSurrogate(r)),
    };

    private static TreeNode Nested(int depth)
    {
        var root = new TreeNode();
        var node = root;
        for (var d = 0; d < depth; d++)
        {
            var child = new TreeNode();
            node.Children.Add(child);
            node = child;
        }

        return root;
    }

    private static TreeNode Cycle()
    {
        var node = new TreeNode();
        node.Children.Add(new TreeNode());
        node.Children[0].Children.Add(node);
        return node;
    }

    // ---------------------------------------------------------------- inputs

    /// <summary>Stands for a null string in <see cref="StreamIdInput"/> (where null means "a valid default").</summary>
    private const string NullText = "\u0000<null>";

    private static GarbageInput StreamIdInput(Random r, int i, string field, string? type, string? id)
    {
        var (t, d) = (Actual(type ?? "account"), Actual(id ?? "1"));
        return new(field, $"new StreamId({Show(t)}, {Show(d)})", target =>
        {
            _ = new StreamId(t, d);
            return Task.CompletedTask;
        });

        static string Actual(string text) => text == NullText ? null! : text;
    }

    private static GarbageInput DefaultStreamInput(int i)
    {
        var stream = default(StreamId);
        return (i % 5) switch
        {
            0 => new("streamId", "Append(default)", t => t.NewContext().Events().AppendAsync(stream, ExpectedVersion.Any, [new TextChanged("x")])),
            1 => new("streamId", "ReadStreamAsync(default)", async t =>
            {
                await foreach (var _ in t.NewContext().Events().ReadStreamAsync(stream))
                {
                }
            }),
            2 => new("streamId", "GetStreamVersionAsync(default)", t => t.NewContext().Events().GetStreamVersionAsync(stream)),
            3 => new("streamId", "AggregateStreamAsync(default)", t => t.NewContext().Events().AggregateStreamAsync(stream, 0, (s, _) => s)),
            _ => new("streamId", "Append(default) then SaveChanges", async t =>
            {
                await using var db = t.NewContext();
                db.Events().Append(stream, ExpectedVersion.NoStream, new TextChanged("x"));
                await db.SaveChangesAsync();
            }),
        };
    }

    private static GarbageInput AggregateIdInput(Random r, int i)
    {
        object id = (i % 6) switch
        {
            0 => "",
            1 => Letters(r, StreamId.MaxLength + 1 + r.Next(1000)),
            2 => WithChar(r, "acc-", '\0'),
            3 => WithChar(r, "acc-", Control(r)),
            4 => WithChar(r, "acc-", LoneSurrogate(r)),
            _ => null!,
        };
        var call = (i / 6) % 3;
        return new("id", $"{(call == 0 ? "LoadAsync" : call == 1 ? "FindAsync" : "SnapshotAsync")}({Show(id as string)})", async t =>
        {
            await using var db = t.NewContext();
            _ = call switch
            {
                0 => (object?)await db.Aggregates<Account>().LoadAsync(id),
                1 => await db.Aggregates<Account>().FindAsync(id),
                _ => await db.Aggregates<Account>().SnapshotAsync(id),
            };
        });
    }

    private static GarbageInput PayloadInput(int i, string field, string what, object payload)
        => new(field, $"{what} ({(i % 2 == 0 ? "SaveChanges" : "SaveChangesAsync")})", t => t.AppendAndSaveAsync(i % 2 == 0, payload));

    private static GarbageInput MetadataInput(Random r, int i, bool key)
    {
        var (k, v, what) = key
            ? (i % 4) switch
            {
                0 => ("", "v", "empty key"),
                1 => (WithChar(r, Letters(r, 5), '\0'), "v", "NUL in a key"),
                2 => (WithChar(r, Letters(r, 5), Control(r)), "v", "control character in a key"),
                _ => (WithChar(r, Letters(r, 5), LoneSurrogate(r)), "v", "lone surrogate in a key"),
            }
            : (i % 4) switch
            {
                0 => ("k", (string)null!, "null value"),
                1 => ("k", WithChar(r, Letters(r, 5), '\0'), "NUL in a value"),
                2 => ("k", WithChar(r, Letters(r, 5), LoneSurrogate(r)), "lone surrogate in a value"),
                _ => ("k", Letters(r, (1 << 20) + 1 + r.Next(1 << 20)), "huge value"),
            };
        return PayloadInput(i, "Metadata", what, new EventData(new TextChanged("x")) { Metadata = new Dictionary<string, string> { [k] = v } });
    }

    private static GarbageInput ExpectedVersionLimitInput(Random r, int i)
    {
        var version = long.MaxValue - r.Next(0, 2);
        var events = Enumerable.Range(0, 2 + r.Next(3)).Select(n => (object)new TextChanged("x" + n)).ToArray();
        return new("expectedVersion", $"Exactly({version}) with {events.Length} events (the last version overflows)", async t =>
        {
            await using var db = t.NewContext();
            var stream = new StreamId("garbage", Guid.NewGuid().ToString("N"));
            if (i % 2 == 0)
            {
                await db.Events().AppendAsync(stream, ExpectedVersion.Exactly(version), events);
            }
            else
            {
                db.Events().Append(stream, ExpectedVersion.Exactly(version), events);
                db.SaveChanges();
            }
        });
    }

    private static GarbageInput CheckpointInput(Random r, int i)
    {
        var text = (i % 8) switch
        {
            0 => null!,
            1 => Blank(r),
            3 => "-1:5",
            4 => "18446744073709551616:1", // tx id beyond ulong
            5 => "1:-5",
            6 => "12:34" + new string('\0', 1 + r.Next(3)), // trailing NULs: .NET's number parsing skips them
            2 => WithChar(r, Letters(r, 5), '\0'),
            _ => "1:2:3",
        };
        return new(i % 8 == 0 ? "text" : "checkpoint", $"GlobalCheckpoint.Parse({Show(text)})", target =>
        {
            _ = GlobalCheckpoint.Parse(text);
            return Task.CompletedTask;
        });
    }

    private static GarbageInput ReadRangeInput(Random r, int i)
    {
        var stream = new StreamId("account", UnitOfWork.AccountId(0));
        return (i % 3) switch
        {
            0 => new("fromVersion", "ReadStreamAsync(fromVersion < 0)", async t =>
            {
                await foreach (var _ in t.NewContext().Events().ReadStreamAsync(stream, -1 - r.Next(1000)))
                {
                }
            }),
            1 => new("toVersion", "ReadStreamAsync(toVersion < fromVersion)", async t =>
            {
                await foreach (var _ in t.NewContext().Events().ReadStreamAsync(stream, 10 + r.Next(10), 1 + r.Next(9)))
                {
                }
            }),
            _ => new("batchSize", "ReadAllAsync(batchSize <= 0)", async t =>
            {
                await foreach (var _ in t.NewContext().Events().ReadAllAsync(GlobalCheckpoint.Start, -r.Next(0, 1000)))
                {
                }
            }),
        };
    }

    private static GarbageInput ProjectionNameInput(Random r, int i)
    {
        var name = BadName(r, i, Projection.MaxNameLength);
        var call = (i / 6) % 3;
        return new("name", $"{(call == 0 ? "CatchUpAsync" : call == 1 ? "RebuildAsync" : "GetLagAsync")}({Show(name)})", async t =>
        {
            await using var db = t.NewContext();
            _ = call switch
            {
                0 => await db.Projections().CatchUpAsync(name),
                1 => await db.Projections().RebuildAsync(name),
                _ => (await db.Projections().GetLagAsync(name)).EventsBehind,
            };
        });
    }

    private static GarbageInput StoreOptionInput(Random r, int i) => (i % 3) switch
    {
        0 => new("bytes", "MaxEventSize(<= 0)", t => t.ConfigureAsync(es => es.MaxEventSize(-r.Next(0, 100000)))),
        1 => new("events", "SnapshotEvery(<= 0)", t => t.ConfigureAsync(es => es.SnapshotEvery(-r.Next(0, 1000)))),
        _ => new("events", "SnapshotEvery<Account>(<= 0)", t => t.ConfigureAsync(es => es.SnapshotEvery<Account>(-r.Next(0, 1000)))),
    };

    private static GarbageInput OutboxOptionInput(Random r, int i) => (i % 6) switch
    {
        0 => new("attempts", "MaxAttempts(<= 0)", t => t.ConfigureAsync(es => es.UseOutbox(o => o.PublishAll("bus").MaxAttempts(-r.Next(0, 100))))),
        1 => new("initialDelay", "RetryBackoff(negative initial delay)", t => t.ConfigureAsync(es => es.UseOutbox(o => o.PublishAll("bus").RetryBackoff(TimeSpan.FromSeconds(-1 - r.Next(100)), TimeSpan.FromMinutes(1))))),
        2 => new("maxDelay", "RetryBackoff(max delay below the initial one)", t => t.ConfigureAsync(es => es.UseOutbox(o => o.PublishAll("bus").RetryBackoff(TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(r.Next(0, 119)))))),
        3 => new("size", "BatchSize(<= 0)", t => t.ConfigureAsync(es => es.UseOutbox(o => o.PublishAll("bus").BatchSize(-r.Next(0, 100))))),
        4 => new("retention", "RetainDispatchedFor(negative)", t => t.ConfigureAsync(es => es.UseOutbox(o => o.PublishAll("bus").RetainDispatchedFor(TimeSpan.FromHours(-1 - r.Next(100)))))),
        _ => new("maxDegreeOfParallelism", "DispatchUnordered(<= 0)", t => t.ConfigureAsync(es => es.UseOutbox(o => o.PublishAll("bus").DispatchUnordered(-r.Next(0, 100))))),
    };

    private static GarbageInput HostedOptionInput(Random r, int i)
    {
        var services = new ServiceCollection();
        var negative = TimeSpan.FromMilliseconds(-r.Next(0, 10000));
        return (i % 5) switch
        {
            0 => new("BatchSize", "AddEventSourcingProjections(BatchSize <= 0)", _ => Register(() => services.AddEventSourcingProjections<FaultDbContext>(o => o.BatchSize = -r.Next(0, 100)))),
            1 => new("MinPollInterval", "AddEventSourcingProjections(MinPollInterval <= 0)", _ => Register(() => services.AddEventSourcingProjections<FaultDbContext>(o => o.MinPollInterval = negative))),
            2 => new("RetryInterval", "AddEventSourcingProjections(RetryInterval <= 0)", _ => Register(() => services.AddEventSourcingProjections<FaultDbContext>(o => o.RetryInterval = negative))),
            3 => new("PollingInterval", "AddEventSourcingOutbox(PollingInterval <= 0)", _ => Register(() => services.AddEventSourcingOutbox<FaultDbContext, RecordingBus>(o => o.PollingInterval = negative))),
            _ => new("CleanupInterval", "AddEventSourcingOutbox(CleanupInterval <= 0)", _ => Register(() => services.AddEventSourcingOutbox<FaultDbContext, RecordingBus>(o => o.CleanupInterval = negative))),
        };

        static Task Register(Func<IServiceCollection> register)
        {
            register();
            return Task.CompletedTask;
        }
    }

    private static string Show(string? text) => text is null
        ? "null"
        : "\"" + string.Concat((text.Length > 24 ? text[..24] + "…(" + text.Length + " chars)" : text)
            .Select(c => char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:x4}" : c.ToString())) + "\"";
}
