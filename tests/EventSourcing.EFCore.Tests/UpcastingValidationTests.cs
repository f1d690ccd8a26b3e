using System.Text.Json.Nodes;
using EventSourcing.EFCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

// Versions of one event type for the start-up validation tests: no [EventType] (AddEvents scans this assembly), each
// test maps what it needs.
public sealed record NoteV1(string Text);

public sealed record NoteV2(string Body);

public sealed record NoteV3(string Body, string Author);

public sealed record Memo(string Text);

/// <summary>Renamed from "unit.memo" by an attribute; mapped by the tests that read it.</summary>
[EventTypeAlias("unit.memo")]
public sealed record Noted(string Text);

/// <summary>
/// Start-up validation of upcaster chains, aliases, obsolete names and metadata key renames: each broken configuration
/// fails with an <see cref="InvalidOperationException"/> naming the type, the name and the versions, when the first
/// context is used (before any read or write).
/// </summary>
public sealed class UpcastingValidationTests
{
    private const string Note = "unit.note";

    private static JsonNode Same(JsonNode json) => json;

    private static UnitDbContext CreateContext(Action<EventSourcingDbContextOptionsBuilder> configure, string? database = null)
        => new(new DbContextOptionsBuilder<UnitDbContext>()
            .UseInMemoryDatabase(database ?? Guid.NewGuid().ToString())
            .UseEventSourcing(configure)
            .Options);

    private static string StartupError(Action<EventSourcingDbContextOptionsBuilder> configure)
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
        {
            using var db = CreateContext(configure);
            _ = db.Events();
        });
        return ex!.Message;
    }

    [Test]
    public void A_valid_chain_of_three_versions_starts()
    {
        using var db = CreateContext(es => es.MapEvent<NoteV1>(Note, 1).MapEvent<NoteV2>(Note, 2).MapEvent<NoteV3>(Note, 3)
            .Upcast<NoteV1, NoteV2>(v1 => new NoteV2(v1.Text))
            .Upcast(Note, 2, 3, Same));
        Assert.That(db.Events(), Is.Not.Null);
    }

    [Test]
    public void A_gap_in_a_chain_names_where_it_stops()
    {
        var message = StartupError(es => es.MapEvent<NoteV1>(Note, 1).MapEvent<NoteV3>(Note, 3).Upcast(Note, 1, 2, Same));
        Assert.That(message, Does.Contain($"'{Note}'").And.Contain("from version 1 stops at version 2").And.Contain("current version 3").And.Contain(typeof(NoteV3).FullName!));
    }

    [TestCase(2, 1)]
    [TestCase(2, 2)]
    public void An_upcaster_that_does_not_go_up_is_a_cycle(int from, int to)
    {
        var message = StartupError(es => es.MapEvent<NoteV3>(Note, 3).Upcast(Note, from, to, Same));
        Assert.That(message, Does.Contain($"'{Note}' from version {from} to version {to}").And.Contain("cycle"));
    }

    [Test]
    public void Two_upcasters_from_one_version_are_rejected()
    {
        var message = StartupError(es => es.MapEvent<NoteV3>(Note, 3).Upcast(Note, 1, 2, Same).Upcast(Note, 1, 3, Same).Upcast(Note, 2, 3, Same));
        Assert.That(message, Does.Contain($"'{Note}' has two upcasters from version 1").And.Contain("version 2").And.Contain("version 3"));
    }

    [Test]
    public void An_upcaster_beyond_the_current_version_is_rejected()
    {
        var message = StartupError(es => es.MapEvent<NoteV2>(Note, 2).Upcast(Note, 1, 2, Same).Upcast(Note, 2, 3, Same));
        Assert.That(message, Does.Contain("from version 2 to version 3").And.Contain("current version 2").And.Contain(typeof(NoteV2).FullName!));
    }

    [Test]
    public void An_upcaster_from_version_zero_is_rejected()
    {
        var message = StartupError(es => es.MapEvent<NoteV2>(Note, 2).Upcast(Note, 0, 2, Same));
        Assert.That(message, Does.Contain($"'{Note}' starts at version 0"));
    }

    [Test]
    public void An_older_registered_version_without_an_upcaster_is_unreachable()
    {
        var message = StartupError(es => es.MapEvent<NoteV1>(Note, 1).MapEvent<NoteV2>(Note, 2));
        Assert.That(message, Does.Contain("Version 1 of 'unit.note'").And.Contain(typeof(NoteV1).FullName!).And.Contain("current version 2").And.Contain(typeof(NoteV2).FullName!));
    }

    [Test]
    public void Two_types_of_one_name_and_version_are_not_one_current_type()
    {
        var message = StartupError(es => es.MapEvent<NoteV2>(Note, 2).MapEvent<NoteV3>(Note, 2));
        Assert.That(message, Does.Contain(typeof(NoteV2).FullName!).And.Contain(typeof(NoteV3).FullName!).And.Contain($"'{Note}' with version 2"));
    }

    [Test]
    public void A_typed_upcaster_between_two_names_is_rejected()
    {
        var message = StartupError(es => es.MapEvent<NoteV1>(Note, 1).MapEvent<Memo>("unit.memo", 2).Upcast<NoteV1, Memo>(n => new Memo(n.Text)));
        Assert.That(message, Does.Contain(typeof(NoteV1).FullName!).And.Contain(typeof(Memo).FullName!).And.Contain("'unit.memo'").And.Contain($"'{Note}'"));
    }

    [Test]
    public void A_typed_upcaster_of_an_unregistered_type_says_how_to_register_it()
    {
        var message = StartupError(es => es.MapEvent<NoteV2>(Note, 2).Upcast<NoteV1, NoteV2>(v1 => new NoteV2(v1.Text)));
        Assert.That(message, Does.Contain(typeof(NoteV1).FullName!).And.Contain("source").And.Contain("MapEvent<NoteV1>"));
    }

    [Test]
    public void An_upcaster_of_an_unknown_name_is_rejected()
    {
        Assert.That(StartupError(es => es.Upcast("unit.nobody", 1, 2, Same)), Does.Contain("'unit.nobody'"));
    }

    [Test]
    public void An_upcaster_registered_for_an_alias_names_the_current_name()
    {
        var message = StartupError(es => es.MapEvent<NoteV2>(Note, 2, aliases: "unit.old-note").Upcast("unit.old-note", 1, 2, Same));
        Assert.That(message, Does.Contain("'unit.old-note'").And.Contain("alias").And.Contain($"'{Note}'"));
    }

    [Test]
    public void An_alias_that_is_a_registered_name_is_rejected()
    {
        var message = StartupError(es => es.MapEvent<Memo>("unit.memo").MapEvent<NoteV1>(Note, 1, aliases: "unit.memo"));
        Assert.That(message, Does.Contain("'unit.memo'").And.Contain(typeof(Memo).FullName!));
    }

    [Test]
    public void One_alias_of_two_names_is_rejected()
    {
        var message = StartupError(es => es.MapEvent<Memo>("unit.memo2", aliases: "unit.old").MapEvent<NoteV1>(Note, 1, aliases: "unit.old"));
        Assert.That(message, Does.Contain("'unit.old'").And.Contain("'unit.memo2'").And.Contain($"'{Note}'"));
    }

    [Test]
    public void An_obsolete_name_that_is_registered_is_rejected()
    {
        var message = StartupError(es => es.MapEvent<NoteV1>(Note, 1).DeclareObsolete(Note));
        Assert.That(message, Does.Contain($"'{Note}'").And.Contain("obsolete").And.Contain(typeof(NoteV1).FullName!));
    }

    [Test]
    public void Metadata_key_renames_that_cycle_or_clash_are_rejected()
    {
        Assert.That(StartupError(es => es.RenameMetadataKey("a", "b").RenameMetadataKey("b", "a")), Does.Contain("'a'").And.Contain("cycle"));
        Assert.That(StartupError(es => es.RenameMetadataKey("a", "b").RenameMetadataKey("a", "c")), Does.Contain("'a'").And.Contain("'b'").And.Contain("'c'"));
        Assert.Throws<ArgumentException>(() => CreateContext(es => es.RenameMetadataKey("a", "a")));
    }

    [Test]
    public async Task An_alias_declared_by_attribute_reads_rows_stored_under_the_old_name()
    {
        var database = Guid.NewGuid().ToString();
        var stream = new StreamId("memo", "1");
        await using (var before = CreateContext(es => es.MapEvent<Memo>("unit.memo"), database))
        {
            await before.Events().AppendAsync(stream, ExpectedVersion.NoStream, [new Memo("hello")]);
        }

        await using var after = CreateContext(es => es.MapEvent<Noted>("unit.noted"), database);
        var read = new List<RecordedEvent>();
        await foreach (var e in after.Events().ReadStreamAsync(stream))
        {
            read.Add(e);
        }

        Assert.That(read.Select(e => (e.Data, e.EventType, e.StoredEventType)), Is.EqualTo(new[] { ((object)new Noted("hello"), "unit.noted", "unit.memo") }));
    }
}
