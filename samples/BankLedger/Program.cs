using System.Collections.Concurrent;
using System.Diagnostics;
using BankLedger;
using EventSourcing.EFCore;
using Microsoft.EntityFrameworkCore;

// BankLedger: accounts as event streams, concurrent tellers with optimistic concurrency, and a
// consistency check of read-all against every stream. EF InMemory by default; --postgres "<conn>" for PostgreSQL.
var postgres = args.Length == 2 && args[0] == "--postgres" ? args[1] : null;
if (args.Length > 0 && postgres is null)
{
    Console.Error.WriteLine("usage: dotnet run --project samples/BankLedger [-- --postgres \"<connection string>\"]");
    return 2;
}

var storeName = "bank-ledger-" + Guid.NewGuid().ToString("N");
LedgerDbContext NewContext()
{
    var options = new DbContextOptionsBuilder<LedgerDbContext>();
    if (postgres is null)
    {
        options.UseInMemoryDatabase(storeName).UseEventSourcing(es => es.AddEvents(typeof(AccountOpened).Assembly));
    }
    else
    {
        options.UseNpgsql(postgres).UseEventSourcing(es => es.UsePostgreSql().AddEvents(typeof(AccountOpened).Assembly));
    }

    return new LedgerDbContext(options.Options);
}

Console.WriteLine($"BankLedger on {(postgres is null ? "EF InMemory" : "PostgreSQL")}");
if (postgres is not null)
{
    await using var setup = NewContext();
    await setup.Database.EnsureCreatedAsync();
}

// 1. Open accounts: one stream each, ExpectedVersion.NoStream.
var accounts = Enumerable.Range(1, 5).Select(i => new StreamId("account", $"ACC-{i:000}-{Guid.NewGuid().ToString("N")[..6]}")).ToArray();
await using (var db = NewContext())
{
    foreach (var (account, i) in accounts.Select((a, i) => (a, i)))
    {
        db.Events().Append(account, ExpectedVersion.NoStream, new AccountOpened($"Owner {i + 1}"), new Deposited(100m, "branch"));
    }

    await db.SaveChangesAsync();
}

Console.WriteLine($"Opened {accounts.Length} accounts with 100.00 each.");

// 2. Four tellers post 50 operations each to random accounts, all at once. Each reads the account's
//    version, decides, and appends with ExpectedVersion.Exactly(version); a lost race is retried.
var conflicts = 0;
var posted = new ConcurrentBag<(StreamId Account, decimal Delta)>();
var clock = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(1, 4).Select(teller => Task.Run(async () =>
{
    var random = new Random(teller);
    for (var op = 0; op < 50; op++)
    {
        var account = accounts[random.Next(accounts.Length)];
        var amount = random.Next(1, 40);
        while (true)
        {
            await using var db = NewContext();
            var balance = 0m;
            long version = 0;
            await foreach (var e in db.Events().ReadStreamAsync(account))
            {
                balance += e.Data switch { Deposited d => d.Amount, Withdrawn w => -w.Amount, _ => 0m };
                version = e.Version;
            }

            object change = balance >= amount && random.Next(2) == 0
                ? new Withdrawn(amount, $"teller-{teller}")
                : new Deposited(amount, $"teller-{teller}");
            try
            {
                await db.Events().AppendAsync(account, ExpectedVersion.Exactly(version), [change]);
                posted.Add((account, change is Withdrawn ? -amount : amount));
                break;
            }
            catch (StreamConcurrencyException)
            {
                Interlocked.Increment(ref conflicts);
            }
        }
    }

    Console.WriteLine($"  teller-{teller} done");
})));

Console.WriteLine($"Posted {posted.Count} operations in {clock.ElapsedMilliseconds} ms; {conflicts} concurrency conflicts were retried.");

// 3. Balances from read-all (one pass over the whole store in commit order, checkpoint by checkpoint).
var fromReadAll = new Dictionary<StreamId, decimal>();
var checkpoint = GlobalCheckpoint.Start;
var eventCount = 0;
await using (var db = NewContext())
{
    await foreach (var e in db.Events().ReadAllAsync(GlobalCheckpoint.Start, batchSize: 100))
    {
        fromReadAll[e.StreamId] = fromReadAll.GetValueOrDefault(e.StreamId)
            + e.Data switch { Deposited d => d.Amount, Withdrawn w => -w.Amount, _ => 0m };
        checkpoint = e.Checkpoint;
        eventCount++;
    }
}

// 4. Consistency check: read-all balances = per-stream balances = opening deposits + what the tellers posted.
var ok = true;
Console.WriteLine();
Console.WriteLine("account                 version   balance   expected");
await using (var db = NewContext())
{
    foreach (var account in accounts)
    {
        var expected = 100m + posted.Where(p => p.Account == account).Sum(p => p.Delta);
        var version = await db.Events().GetStreamVersionAsync(account);
        var ledger = fromReadAll.GetValueOrDefault(account);
        var match = ledger == expected;
        ok &= match;
        Console.WriteLine($"{account.Id,-22} {version,8} {ledger,9:0.00} {expected,10:0.00} {(match ? "ok" : "MISMATCH")}");
    }
}

Console.WriteLine();
Console.WriteLine($"Read-all saw {eventCount} events; last checkpoint {checkpoint}.");
Console.WriteLine(ok ? "Consistency check passed: sum of events = expected balances." : "Consistency check FAILED.");
return ok ? 0 : 1;
