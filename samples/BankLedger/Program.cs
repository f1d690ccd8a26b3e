using System.Collections.Concurrent;
using System.Diagnostics;
using BankLedger;
using EventSourcing.EFCore;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;

// BankLedger: the library doing its job on a small bank. Accounts are event-sourced aggregates; tellers race on
// them with optimistic concurrency; snapshots, a catch-up projection of balances, the outbox, point-in-time loads,
// and a final consistency check. EF InMemory by default; --postgres "<connection string>" applies the migrations
// and runs the same on PostgreSQL; --rabbitmq "amqp://..." publishes the outbox to RabbitMQ instead of the console;
// --telemetry exports one command's trace (append, catch-up, outbox publish) and the metrics with OpenTelemetry's
// console exporter.
var telemetryRequested = args.Contains("--telemetry");
var pairs = args.Where(a => a != "--telemetry").ToArray();
var options = pairs.Length % 2 == 0 ? pairs.Chunk(2).ToDictionary(p => p[0], p => p[1]) : null;
if (options is null || options.Keys.Any(k => k is not ("--postgres" or "--rabbitmq")))
{
    Console.Error.WriteLine("usage: dotnet run --project samples/BankLedger [-- [--postgres \"<connection string>\"] [--rabbitmq \"amqp://user:password@host:5672/\"] [--telemetry]]");
    return 2;
}

using var telemetry = telemetryRequested ? new LedgerTelemetry() : null;

var postgres = options.GetValueOrDefault("--postgres");
var rabbitmq = options.GetValueOrDefault("--rabbitmq");

var storeName = "bank-ledger-" + Guid.NewGuid().ToString("N");
LedgerDbContext NewContext()
{
    var options = new DbContextOptionsBuilder<LedgerDbContext>();
    if (postgres is null)
    {
        options.UseInMemoryDatabase(storeName).UseEventSourcing(LedgerDbContext.ConfigureEventSourcing);
    }
    else
    {
        options.UseNpgsql(postgres).UseEventSourcing(es => LedgerDbContext.ConfigureEventSourcing(es.UsePostgreSql()));
    }

    return new LedgerDbContext(options.Options);
}

var total = Stopwatch.StartNew();
Console.WriteLine($"BankLedger: event sourcing on EF Core, {(postgres is null ? "EF InMemory" : "PostgreSQL")}");
Console.WriteLine();

// 1. Schema: the library's tables come from the application's own EF migrations.
if (postgres is not null)
{
    await using var setup = NewContext();
    var pending = (await setup.Database.GetPendingMigrationsAsync()).ToList();
    await setup.Database.MigrateAsync();
    Console.WriteLine(pending.Count == 0
        ? "[1/8] Schema: the database is up to date with the EF migrations."
        : $"[1/8] Schema: applied {pending.Count} EF migration(s): {string.Join(", ", pending.Select(m => m[15..]))}.");
}
else
{
    Console.WriteLine("[1/8] Schema: EF InMemory needs none.");
}

// 2. Open accounts: each is a new stream (ExpectedVersion.NoStream) appended by SaveChanges.
var run = Guid.NewGuid().ToString("N")[..6];
var accounts = Enumerable.Range(1, 5).Select(i => $"ACC-{i:000}-{run}").ToArray();
await using (var db = NewContext())
{
    for (var i = 0; i < accounts.Length; i++)
    {
        db.Aggregates<Account>().Add(Account.Open(accounts[i], $"Owner {i + 1}", 100m));
    }

    await db.SaveChangesAsync();
}

var openedAt = DateTimeOffset.UtcNow;
Console.WriteLine($"[2/8] Opened {accounts.Length} accounts with 100.00 each.");

// 3. Tellers: each operation loads the account (snapshot + tail), decides, and saves with the version it loaded.
//    A teller that lost a race gets StreamConcurrencyException, reloads and tries again.
const int tellers = 4;
const int operationsPerTeller = 60;
var conflicts = 0;
var done = 0;
var refused = 0;
var posted = new ConcurrentBag<(string Account, decimal Delta)>();
var clock = Stopwatch.StartNew();
Console.WriteLine($"[3/8] {tellers} tellers post {operationsPerTeller} operations each to random accounts, all at once:");
await Task.WhenAll(Enumerable.Range(1, tellers).Select(teller => Task.Run(async () =>
{
    var random = new Random(teller);
    for (var op = 0; op < operationsPerTeller; op++)
    {
        var id = accounts[random.Next(accounts.Length)];
        var amount = (decimal)random.Next(1, 60);
        var withdraw = random.Next(2) == 0;
        while (true)
        {
            await using var db = NewContext();
            var account = await db.Aggregates<Account>().LoadAsync(id);
            var delta = amount;
            if (withdraw && account.TryWithdraw(amount, $"teller-{teller}"))
            {
                delta = -amount;
            }
            else
            {
                if (withdraw)
                {
                    Interlocked.Increment(ref refused);
                }

                account.Deposit(amount, $"teller-{teller}");
            }

            try
            {
                await db.SaveChangesAsync();
                posted.Add((id, delta));
                break;
            }
            catch (StreamConcurrencyException)
            {
                Interlocked.Increment(ref conflicts); // someone else appended first: reload and decide again
            }
        }

        if (Interlocked.Increment(ref done) % 60 == 0)
        {
            Console.WriteLine($"      {done,3}/{tellers * operationsPerTeller} operations, {Volatile.Read(ref conflicts)} conflicts retried so far");
        }
    }
})));
Console.WriteLine($"      done in {clock.ElapsedMilliseconds} ms: {posted.Count} operations, {conflicts} concurrency conflicts retried, "
    + $"{refused} withdrawals turned into deposits (no overdrafts).");

// With --telemetry: one more deposit, as a command with its own span; its trace is followed to the projection and the outbox.
ActivityTraceId? commandTrace = null;
if (telemetry is not null)
{
    using var command = LedgerTelemetry.Commands.StartActivity("deposit command")!;
    commandTrace = command.TraceId;
    await using var db = NewContext();
    var account = await db.Aggregates<Account>().LoadAsync(accounts[0]);
    account.Deposit(1m, "telemetry-demo");
    await db.SaveChangesAsync(); // the event's metadata stores this command's traceparent
    posted.Add((accounts[0], 1m));
    Console.WriteLine($"      --telemetry: a deposit command ran in trace {command.TraceId}.");
}

// 4. Snapshots: SnapshotEvery<Account>(20) wrote them in the same SaveChanges as the events that crossed a multiple of 20.
await using (var db = NewContext())
{
    var snapshots = await db.Set<StoredSnapshot>().AsNoTracking()
        .Where(s => s.StreamType == "account" && accounts.Contains(s.StreamId))
        .ToListAsync();
    var longest = accounts.MaxBy(a => posted.Count(p => p.Account == a))!;
    var snapshotVersion = await db.Aggregates<Account>().SnapshotAsync(longest);
    await using var fresh = NewContext();
    var loadClock = Stopwatch.StartNew();
    var loaded = await fresh.Aggregates<Account>().LoadAsync(longest);
    Console.WriteLine($"[4/8] Snapshots: {snapshots.Count} taken by policy (every 20 events: "
        + string.Join(", ", snapshots.OrderBy(s => s.StreamId).Select(s => $"{s.StreamId[..7]}@v{s.Version}")) + ").");
    Console.WriteLine($"      SnapshotAsync({longest}) took one at v{snapshotVersion}; loading it now reads that snapshot and no events "
        + $"({loadClock.Elapsed.TotalMilliseconds:F1} ms, version {loaded.Version}, balance {loaded.Balance:0.00}).");
}

// 5. Catch-up projection: balances applied after commit, from the projection's checkpoint, with exactly-once effect.
await using (var db = NewContext())
{
    var before = await db.Projections().GetLagAsync("account-balances");
    var applied = await db.Projections().CatchUpAsync("account-balances");
    var after = await db.Projections().GetLagAsync("account-balances");
    var again = await db.Projections().CatchUpAsync("account-balances");
    Console.WriteLine($"[5/8] Projection 'account-balances': {before.EventsBehind} events behind; caught up {applied} events; "
        + $"now {after.EventsBehind} behind (checkpoint {after.Checkpoint}); a second catch-up applied {again}.");
}

// 6. Outbox: every event also wrote an es_outbox row in its own SaveChanges; dispatch hands committed rows to the broker.
await using var rabbitPublisher = rabbitmq is null ? null : await RabbitMqLedger.CreatePublisherAsync(new Uri(rabbitmq));
var publisher = new ConsolePublisher(rabbitPublisher);
Console.WriteLine(rabbitPublisher is null
    ? "[6/8] Outbox: dispatching committed messages to a console publisher (first 3 shown):"
    : $"[6/8] Outbox: dispatching committed messages to RabbitMQ (exchange '{RabbitMqLedger.Exchange}', queue '{RabbitMqLedger.Queue}'):");
await using (var db = NewContext())
{
    var dispatched = 0;
    int batch;
    while ((batch = await db.Outbox().DispatchPendingAsync(publisher)) > 0)
    {
        dispatched += batch;
    }

    var stats = await db.Outbox().GetStatsAsync();
    Console.WriteLine($"      {dispatched} messages published; {stats.Pending} pending, {stats.DeadLetters} dead letters.");
    if (rabbitmq is not null)
    {
        Console.WriteLine($"      RabbitMQ queue '{RabbitMqLedger.Queue}' now holds {await RabbitMqLedger.QueuedAsync(new Uri(rabbitmq))} messages.");
    }
}

// 7. Point in time: an aggregate as it was at a version, or at a moment.
await using (var db = NewContext())
{
    var first = accounts[0];
    var atThree = await db.Aggregates<Account>().LoadAsync(first, atVersion: 3);
    var atOpening = await db.Aggregates<Account>().LoadAsOfAsync(first, openedAt);
    var now = await db.Aggregates<Account>().LoadAsync(first);
    Console.WriteLine($"[7/8] Point in time, {first}: at version 3 the balance was {atThree.Balance:0.00}; "
        + $"as of {openedAt:HH:mm:ss.fff} it was {atOpening.Balance:0.00}; now (v{now.Version}) it is {now.Balance:0.00}.");
}

// 8. Consistency: sum of each stream's events = the aggregate's balance = the projected balance = opening + posted,
//    and every event of these accounts went through the outbox.
var ok = true;
Console.WriteLine("[8/8] Consistency check:");
Console.WriteLine("      account             version  sum(events)  aggregate  projected   expected  outbox");
await using (var db = NewContext())
{
    foreach (var id in accounts)
    {
        var expected = 100m + posted.Where(p => p.Account == id).Sum(p => p.Delta);
        var sum = 0m;
        var events = 0;
        var published = 0;
        await foreach (var e in db.Events().ReadStreamAsync(StreamId.For<Account>(id)))
        {
            sum += e.Data switch { Deposited d => d.Amount, Withdrawn w => -w.Amount, _ => 0m };
            events++;
            published += publisher.Published.ContainsKey(e.EventId) ? 1 : 0;
        }

        var aggregate = await db.Aggregates<Account>().LoadAsync(id);
        var projected = await db.Balances.AsNoTracking().SingleAsync(b => b.AccountId == id);
        var match = sum == expected && aggregate.Balance == expected && projected.Balance == expected
                    && projected.Version == events && aggregate.Version == events && published == events;
        ok &= match;
        Console.WriteLine($"      {id,-18} {events,8} {sum,12:0.00} {aggregate.Balance,10:0.00} {projected.Balance,10:0.00} "
            + $"{expected,10:0.00} {published,4}/{events,-3} {(match ? "ok" : "MISMATCH")}");
    }
}

if (telemetry is not null && commandTrace is { } trace)
{
    var (inTrace, linked) = telemetry.SpansOf(trace);
    var reached = inTrace.Contains("eventsourcing.save") && inTrace.Any(n => n.StartsWith("publish ", StringComparison.Ordinal)) && linked.Contains("eventsourcing.catch_up");
    ok &= reached;
    Console.WriteLine($"Telemetry: trace {trace} has spans [{string.Join(", ", inTrace)}]; linked from [{string.Join(", ", linked)}]: "
        + (reached ? "the command reached the projection and the outbox." : "MISSING a span."));
}

Console.WriteLine();
Console.WriteLine(ok
    ? $"Consistency check passed: sum of events = aggregate = projected balances, every event published. ({total.ElapsedMilliseconds} ms)"
    : "Consistency check FAILED.");
return ok ? 0 : 1;
