using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: an import writes only the events. When an outbox route, an inline projection or a snapshot policy
/// applies to an imported event, the import is refused naming it and writes nothing, unless the caller asks to skip them.
/// </summary>
public sealed class ImportWritePathNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    private static readonly (string Feature, Action<EventSourcingDbContextOptionsBuilder> Configure)[] Features =
    [
        ("inline projection 'import-balances'", es => es.AddInlineProjection(new BalanceProjection("import-balances"))),
        ("the outbox route to 'bus'", es => es.UseOutbox(o => o.Publish<Withdrawn>("bus"))),
        ("a snapshot policy", es => es.SnapshotEvery(10)),
    ];

    [Test]
    public async Task An_import_that_would_skip_a_save_feature_is_refused_naming_it_and_writes_nothing([Range(0, 2)] int feature)
    {
        var (name, configure) = Features[feature];
        var streams = new[] { NewStream(), NewStream() };
        await using (var db = CreateContext(configure))
        {
            var ex = Assert.ThrowsAsync<InvalidOperationException>(() => db.Events().ImportAsync(streams.Select(s => new StreamImport(s, [new Deposited(1), new Withdrawn(1, "fee")]))));
            Assert.That(ex!.Message, Does.Contain(name));
            Assert.That(ex.Message, Does.Contain(nameof(ImportWritePathFeatures.Skip)));
        }

        Assert.That(await ReadAllAsync(), Is.Empty);
    }

    [Test]
    public async Task An_import_with_Skip_writes_the_events_without_the_features_and_logs_it([Range(0, 2)] int feature)
    {
        var (name, configure) = Features[feature];
        var stream = NewStream();
        var logs = new LogCollector();
        var options = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions(configure)).UseLoggerFactory(logs).Options;
        await using (var db = new TestDbContext(options))
        {
            Assert.That(await db.Events().ImportAsync([new StreamImport(stream, [new Deposited(1), new Withdrawn(1, "fee")])], ImportWritePathFeatures.Skip), Is.EqualTo(2));
            Assert.That(await db.Set<AccountBalance>().CountAsync(), Is.Zero, "no inline projection ran");
            Assert.That(await db.Set<EventSourcing.EFCore.Storage.StoredOutboxMessage>().CountAsync(), Is.Zero, "no outbox message");
            Assert.That(await db.Set<EventSourcing.EFCore.Storage.StoredSnapshot>().CountAsync(), Is.Zero, "no snapshot");
        }

        Assert.That((await ReadStreamAsync(stream)).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(logs.Entries.Any(e => e.EventId == EventSourcingEventId.ImportSkippedWritePath && e.Message.Contains(name, StringComparison.Ordinal)), Is.True);
    }

    [Test]
    public async Task An_outbox_route_that_selects_no_imported_event_does_not_refuse_the_import()
    {
        var stream = NewStream();
        await using var db = CreateContext(es => es.UseOutbox(o => o.Publish<Renamed>("bus")));
        Assert.That(await db.Events().ImportAsync([new StreamImport(stream, [new Deposited(1)])]), Is.EqualTo(1));
    }
}
