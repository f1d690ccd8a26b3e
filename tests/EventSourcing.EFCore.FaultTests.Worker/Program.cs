using EventSourcing.EFCore;
using EventSourcing.EFCore.FaultTests.Worker;
using Microsoft.EntityFrameworkCore;

// The child process of the kill scenario: runs units of work from <first> on, one context each, and reports on stdout
//   "ready"            once the model is built and the database answers
//   "begin <unit>"     before a unit's save
//   "done <unit>"      after its commit ("skip <unit>" when it was already done)
// until it has run <count> units (0 = until killed). Exit code 0 when it ran them all; 3 on a library conflict.
if (args.Length != 4)
{
    Console.Error.WriteLine("usage: EventSourcing.EFCore.FaultTests.Worker <connection string> <first unit> <count (0 = forever)> <accounts>");
    return 2;
}

var options = FaultStore.CreateOptions(FaultStore.LibraryConnectionString(args[0]));
var first = long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
var count = long.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
var accounts = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
var output = Console.Out;

await using (var warm = new FaultDbContext(options))
{
    await warm.Transfers.AnyAsync();
}

output.WriteLine("ready");
output.Flush();
for (var unit = first; count == 0 || unit < first + count; unit++)
{
    output.WriteLine($"begin {unit}");
    output.Flush();
    await using var db = new FaultDbContext(options);
    try
    {
        var ran = await UnitOfWork.RunAsync(db, unit, accounts, syncSave: unit % 2 == 1, CancellationToken.None);
        output.WriteLine(ran ? $"done {unit}" : $"skip {unit}");
        output.Flush();
    }
    catch (StreamConcurrencyException e)
    {
        // one writer only: a conflict means the store disagrees with itself
        Console.Error.WriteLine($"conflict in unit {unit}: {e.Message}");
        return 3;
    }
}

return 0;
