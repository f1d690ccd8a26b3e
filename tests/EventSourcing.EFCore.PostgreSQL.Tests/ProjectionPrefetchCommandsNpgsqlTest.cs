using System.Data.Common;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only (the SQL sent is what shows it): with the prefetch hook a catch-up batch reads its read-model rows with
/// one SELECT, whatever the number of events and rows, and handlers that take their rows from the change tracker send none;
/// without it, FindAsync sends one SELECT per row (also for rows that do not exist yet).
/// </summary>
public sealed class ProjectionPrefetchCommandsNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task A_batch_with_the_hook_sends_one_select_of_the_read_model_and_one_without_it_per_row()
    {
        var streams = Enumerable.Range(0, 40).Select(_ => NewStream()).ToArray();
        foreach (var stream in streams)
        {
            await SeedAsync(stream, 1);
        }

        foreach (var prefetch in new[] { true, false })
        {
            var name = prefetch ? "prefetched" : "plain";
            Assert.That(await CatchUpCountingSelectsAsync(name, prefetch), Is.EqualTo(prefetch ? 1 : 40), $"{name}: the first batch (no rows yet)");
        }

        foreach (var stream in streams)
        {
            await SeedAsync(stream, 3, ExpectedVersion.Exactly(1));
        }

        Assert.That(await CatchUpCountingSelectsAsync("prefetched", prefetch: true), Is.EqualTo(1), "one SELECT loads the 40 rows of 120 events");
        Assert.That(await CatchUpCountingSelectsAsync("plain", prefetch: false), Is.EqualTo(40), "FindAsync queries each row once");
    }

    /// <summary>Catches the projection up (one batch) and returns the SELECTs sent that read account_balances.</summary>
    private async Task<int> CatchUpCountingSelectsAsync(string name, bool prefetch)
    {
        var counter = new SelectCounter();
        var options = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions(es => es.AddProjection<TestDbContext>(name, p =>
            {
                p.On<Deposited>(async (db, e, envelope, ct) =>
                {
                    var stream = envelope.StreamId.ToString();
                    var row = prefetch
                        ? db.Set<AccountBalance>().Local.FindEntryUntyped([name, stream])?.Entity // the hook loaded every existing row
                        : await db.Set<AccountBalance>().FindAsync([name, stream], ct);
                    if (row is null)
                    {
                        row = new AccountBalance { Projection = name, Stream = stream };
                        db.Add(row);
                    }

                    row.Balance += e.Amount;
                    row.Version = envelope.Version;
                });
                if (prefetch)
                {
                    p.Prefetch((db, events, ct) =>
                    {
                        var keys = events.Select(e => e.StreamId.ToString()).Distinct().ToList();
                        return db.Set<AccountBalance>().Where(b => b.Projection == name && keys.Contains(b.Stream)).LoadAsync(ct);
                    });
                }
            })))
            .AddInterceptors(counter)
            .Options;
        await using var db = new TestDbContext(options);
        await db.Projections().CatchUpAsync(name);
        return counter.Selects;
    }

    private sealed class SelectCounter : DbCommandInterceptor
    {
        public int Selects { get; private set; }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            if (command.CommandText.TrimStart().StartsWith("SELECT", StringComparison.OrdinalIgnoreCase)
                && command.CommandText.Contains("account_balances", StringComparison.Ordinal))
            {
                Selects++;
            }

            return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
        }
    }
}
