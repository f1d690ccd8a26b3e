using System.Globalization;
using System.Text;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Serialization.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

/// <summary>
/// What an aggregate load keeps per event type: names looked up from their UTF-8 bytes (<see cref="StoredNameTable"/>)
/// and which (name, version) pairs are current (<see cref="CurrentEventTypes"/>). Both answer exactly what decoding each
/// value on its own answers, whatever the names' scripts and lengths, their number (past what the tables keep) and their
/// order. Seeded: set EVENTSOURCING_TEST_SEED to replay a run.
/// </summary>
public sealed class AggregateLoadNameTests
{
    private static readonly string[] Pieces = ["a", "Z", "0", ".", "-", "é", "ß", "Ω", "я", "中", "文", "🙂", "𝄞", " "];

    private static Random Seeded()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("EVENTSOURCING_TEST_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed} (EVENTSOURCING_TEST_SEED replays it)");
        return new Random(seed);
    }

    private static string RandomName(Random random, int index, int maxPieces)
    {
        var text = new StringBuilder(index.ToString(CultureInfo.InvariantCulture)).Append('.');
        for (int i = 0, n = random.Next(0, maxPieces); i < n; i++)
        {
            text.Append(Pieces[random.Next(Pieces.Length)]);
        }

        return text.Append('.').Append(index).ToString(); // no white space at either end (the registry refuses it)
    }

    [TestCase(StoredNameTable.MaxNamesPerLoad)]
    [TestCase(StoredNameTable.MaxNamesPerRead)]
    [TestCase(StoredNameTable.ListedNames)]
    [TestCase(-1)] // a random bound below, at and above the names compared by their bytes
    public void Names_read_from_their_bytes_round_trip_and_repeat_as_one_instance_whatever_their_number_and_script(int bound)
    {
        var random = Seeded();
        var maxNames = bound > 0 ? bound : random.Next(1, 3 * StoredNameTable.ListedNames);
        var names = Enumerable.Range(0, maxNames + random.Next(1, 40))
            .Select(i => RandomName(random, i, i % 7 == 0 ? 200 : 12))
            .ToArray();
        var table = new StoredNameTable(maxNames);
        var met = new HashSet<string>(StringComparer.Ordinal);
        var kept = new Dictionary<string, string>(StringComparer.Ordinal); // what the table must keep: the first names met that fit
        for (var read = 0; read < 20 * names.Length; read++)
        {
            // Mostly a few names (as in a real stream), sometimes any of them.
            var name = names[random.Next(4) == 0 ? random.Next(names.Length) : random.Next(3)];
            var got = table.Get(Encoding.UTF8.GetBytes(name));
            Assert.That(got, Is.EqualTo(name));
            if (kept.TryGetValue(name, out var instance))
            {
                Assert.That(got, Is.SameAs(instance), $"'{name}' read again");
            }
            else if (met.Add(name) && kept.Count < maxNames && Encoding.UTF8.GetByteCount(name) <= StoredNameTable.MaxNameBytes)
            {
                kept.Add(name, got);
            }
            else
            {
                Assert.That(got, Is.Not.SameAs(table.Get(Encoding.UTF8.GetBytes(name))), $"'{name}' is not kept past the bound");
            }
        }

        Assert.That(table.Count, Is.EqualTo(kept.Count), "the table keeps exactly the first names met that fit, up to its bound");
        Assert.That(kept, Has.Count.EqualTo(maxNames).Or.Count.EqualTo(met.Count), "the test met enough names");
        Assert.That(table.Get([]), Is.Empty);
    }

    [Test]
    public void Bytes_that_are_not_UTF8_are_refused_whether_the_names_are_compared_by_bytes_or_looked_up_by_text()
    {
        var table = new StoredNameTable(StoredNameTable.MaxNamesPerRead);
        Assert.That(table.Get("ok"u8), Is.EqualTo("ok"));
        Assert.Throws<DecoderFallbackException>(() => table.Get([0x6F, 0xC3]));
        Assert.Throws<DecoderFallbackException>(() => table.Get([0xFF]));
        for (var i = 0; table.Count < StoredNameTable.ListedNames; i++)
        {
            table.Get(Encoding.UTF8.GetBytes("name." + i.ToString(CultureInfo.InvariantCulture)));
        }

        Assert.Throws<DecoderFallbackException>(() => table.Get([0x6F, 0xC3]));
        Assert.Throws<DecoderFallbackException>(() => table.Get([0xFF]));
        var first = table.Get("é"u8);
        Assert.That(table.Get("é"u8), Is.SameAs(first), "a name past the listed ones is kept by its text");
        Assert.That(table.Count, Is.EqualTo(StoredNameTable.ListedNames + 1));
    }

    private sealed record Box<T>(T Value);

    private static readonly Type[] Contents =
    [
        typeof(int), typeof(long), typeof(short), typeof(byte), typeof(sbyte), typeof(uint), typeof(ulong), typeof(ushort),
        typeof(string), typeof(Guid), typeof(DateTime), typeof(DateTimeOffset), typeof(TimeSpan), typeof(decimal), typeof(double),
        typeof(float), typeof(bool), typeof(char), typeof(DateOnly), typeof(TimeOnly), typeof(Half), typeof(Uri), typeof(Version),
    ];

    [Test]
    public void Current_types_answer_as_the_registry_does_for_current_names_aliases_other_versions_and_unknown_names()
    {
        var random = Seeded();
        var types = Contents.Select(c => typeof(Box<>).MakeGenericType(c)).ToArray();
        Assert.That(types, Has.Length.GreaterThan(CurrentEventTypes.Capacity), "more pairs than the table keeps");
        var names = types.Select((_, i) => RandomName(random, i, 10)).ToArray();
        var aliases = types.Select((_, i) => "old-" + RandomName(random, i, 10)).ToArray();
        var builder = new DbContextOptionsBuilder().UseInMemoryDatabase("names-" + Guid.NewGuid());
        builder.UseEventSourcing(es =>
        {
            for (var i = 0; i < types.Length; i++)
            {
                es.MapEvent(types[i], names[i], version: 1 + (i % 3), aliases[i]);
            }
        });
        var options = builder.Options.FindExtension<EventSourcingOptionsExtension>()!;
        var current = new CurrentEventTypes(options);
        for (var read = 0; read < 3000; read++)
        {
            var i = random.Next(types.Length);
            var (name, version) = random.Next(5) switch
            {
                0 => (aliases[i], 1 + (i % 3)),
                1 => (names[i], random.Next(1, 5)),
                2 => ("unknown-" + RandomName(random, i, 4), 1),
                _ => (new string(names[i].AsSpan()), 1 + (i % 3)), // an equal name, not the same instance
            };
            var expected = options.Upcasting.IsCurrent(name, version, out var clrType) ? clrType : null;
            Assert.That(current.Find(name, version), Is.EqualTo(expected), $"({name}, {version})");
        }
    }
}
