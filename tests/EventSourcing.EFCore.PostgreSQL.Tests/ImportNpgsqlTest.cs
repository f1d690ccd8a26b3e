using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only: <c>db.Events().ImportAsync(…)</c> writes whole new streams with one binary COPY; events are
/// validated and named as by Append; the database's indexes and stream guard still apply, and any violation writes
/// nothing and is reported with the library's typed exceptions.
/// </summary>
public sealed class ImportNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task Import_writes_whole_new_streams_with_versions_from_1()
    {
        var streams = Enumerable.Range(0, 3).Select(_ => NewStream()).ToArray();
        var id = Guid.CreateVersion7();
        var stamp = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);
        await using (var db = CreateContext())
        {
            var imported = await db.Events().ImportAsync(streams.Select((s, i) => new StreamImport(s, [
                new Deposited(i),
                new Withdrawn(1, "fee"),
                new EventData(new Deposited(100 + i)) { EventId = i == 0 ? id : null, Metadata = new Dictionary<string, string> { ["by"] = "import" }, Timestamp = stamp },
            ])));
            Assert.That(imported, Is.EqualTo(9));
        }

        var first = await ReadStreamAsync(streams[0]);
        Assert.That(first.Select(e => e.Version), Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(first.Select(e => e.EventType), Is.EqualTo(new[] { "test.deposited", "test.withdrawn", "test.deposited" }));
        Assert.That(first[1].EventTypeVersion, Is.EqualTo(2));
        Assert.That(first[2].EventId, Is.EqualTo(id));
        Assert.That(first[2].Metadata["by"], Is.EqualTo("import"));
        Assert.That(first[2].Timestamp, Is.EqualTo(stamp));
        Assert.That(((Deposited)first[2].Data).Amount, Is.EqualTo(100));
        var all = await ReadAllAsync();
        Assert.That(all, Has.Count.EqualTo(9));
        foreach (var stream in streams)
        {
            Assert.That(all.Where(e => e.StreamId == stream).Select(e => e.GlobalPosition), Is.Ordered.Ascending);
        }

        await using var next = CreateContext();
        Assert.That(await next.Events().AppendAsync(streams[1], ExpectedVersion.Exactly(3), [new Deposited(5)]), Is.EqualTo(4), "appends continue the stream");
    }

    [Test]
    public async Task Import_into_a_stream_that_has_events_throws_StreamConcurrencyException_and_writes_nothing()
    {
        var existing = NewStream();
        var fresh = NewStream();
        await SeedAsync(existing, 2);
        await using var db = CreateContext();

        var conflict = Assert.ThrowsAsync<StreamConcurrencyException>(() => db.Events().ImportAsync([
            new StreamImport(fresh, [new Deposited(1)]),
            new StreamImport(existing, [new Deposited(2)]),
        ]))!;

        Assert.That(conflict.StreamId, Is.EqualTo(existing));
        Assert.That(conflict.ExpectedVersion, Is.EqualTo(ExpectedVersion.NoStream));
        Assert.That(conflict.ActualVersion, Is.EqualTo(2));
        Assert.That(await ReadStreamAsync(fresh), Is.Empty, "nothing written");
        Assert.That(await ReadStreamAsync(existing), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Import_of_an_event_id_already_stored_throws_DuplicateEventIdException_and_writes_nothing()
    {
        var existing = NewStream();
        var fresh = NewStream();
        var ids = await SeedAsync(existing, 2);
        await using var db = CreateContext();

        var clash = Assert.ThrowsAsync<DuplicateEventIdException>(() => db.Events().ImportAsync([
            new StreamImport(fresh, [new Deposited(1), new EventData(new Deposited(2)) { EventId = ids[1] }]),
        ]))!;

        Assert.That(clash.EventId, Is.EqualTo(ids[1]));
        Assert.That(clash.StreamId, Is.EqualTo(fresh));
        Assert.That(clash.ExistingStreamId, Is.EqualTo(existing));
        Assert.That(clash.ExistingVersion, Is.EqualTo(2));
        Assert.That(await ReadStreamAsync(fresh), Is.Empty, "nothing written");
    }

    [Test]
    public async Task Import_listing_a_stream_twice_throws_ArgumentException_and_writes_nothing()
    {
        var stream = NewStream();
        var other = NewStream();
        await using var db = CreateContext();

        var error = Assert.ThrowsAsync<ArgumentException>(() => db.Events().ImportAsync([
            new StreamImport(stream, [new Deposited(1)]),
            new StreamImport(other, [new Deposited(2)]),
            new StreamImport(stream, [new Deposited(3)]),
        ]))!;

        Assert.That(error.ParamName, Is.EqualTo("streams"));
        Assert.That(await ReadAllAsync(), Is.Empty, "nothing written");
    }

    [Test]
    public async Task Import_of_an_invalid_event_writes_nothing()
    {
        await using var db = CreateContext();

        Assert.ThrowsAsync<UnknownEventTypeException>(() => db.Events().ImportAsync([
            new StreamImport(NewStream(), [new Deposited(1)]),
            new StreamImport(NewStream(), [new NotRegistered(2)]),
        ]));
        var invalid = Assert.ThrowsAsync<EventValidationException>(() => db.Events().ImportAsync([
            new StreamImport(NewStream(), [new EventData(new Deposited(1)) { Timestamp = DateTimeOffset.Now.ToOffset(TimeSpan.FromHours(2)) }]),
        ]))!;

        Assert.That(invalid.ParamName, Is.EqualTo(nameof(EventData.Timestamp)));
        Assert.That(await ReadAllAsync(), Is.Empty, "nothing written");
    }

    [Test]
    public async Task Import_inside_a_user_transaction_commits_or_rolls_back_with_it()
    {
        var rolledBack = NewStream();
        var committed = NewStream();
        await using var db = CreateContext();
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            await db.Events().ImportAsync([new StreamImport(rolledBack, [new Deposited(1)])]);
            await transaction.RollbackAsync();
        }

        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            await db.Events().ImportAsync([new StreamImport(committed, [new Deposited(2)])]);
            Assert.That(await ReadStreamAsync(committed), Is.Empty, "not visible before the commit");
            await transaction.CommitAsync();
        }

        Assert.That(await ReadStreamAsync(rolledBack), Is.Empty);
        Assert.That(await ReadStreamAsync(committed), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_cancelled_import_writes_nothing()
    {
        using var cancellation = new CancellationTokenSource();
        await using var db = CreateContext();

        Assert.CatchAsync<OperationCanceledException>(() => db.Events().ImportAsync(Streams(), cancellation.Token));
        Assert.That(await ReadAllAsync(), Is.Empty);

        IEnumerable<StreamImport> Streams()
        {
            yield return new StreamImport(NewStream(), [new Deposited(1)]);
            cancellation.Cancel();
            yield return new StreamImport(NewStream(), [new Deposited(2)]);
        }
    }
}
