using System.Globalization;
using System.Text;
using EventSourcing.EFCore.Streams.Internal;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

/// <summary>
/// The read-all page buffer, reused from page to page, and its names table: what goes in comes out unchanged however the
/// buffers grow, and names are allocated once per read. Seeded: set EVENTSOURCING_TEST_SEED to replay a run.
/// </summary>
public sealed class ReadAllPageTests
{
    private static Random Seeded()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("EVENTSOURCING_TEST_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed} (EVENTSOURCING_TEST_SEED replays it)");
        return new Random(seed);
    }

    [Test]
    public void Rows_and_payloads_read_back_as_added_over_pages_whatever_the_buffers_grow_to()
    {
        var random = Seeded();
        var page = new ReadAllPage(batchSize: random.Next(1, 2000));
        for (var p = 0; p < 20; p++)
        {
            page.Clear();
            Assert.That(page.Count, Is.Zero);
            var expected = new List<(long Position, byte[] Payload)>();
            for (var i = random.Next(0, 300); i > 0; i--)
            {
                var payload = new byte[random.Next(4) == 0 ? random.Next(0, 20_000) : random.Next(0, 100)];
                random.NextBytes(payload);
                var (buffer, start) = page.ReservePayload(payload.Length);
                payload.CopyTo(buffer, start);
                var position = random.NextInt64(1, long.MaxValue);
                page.Add(Row(position, payloadStart: start, payloadLength: payload.Length));
                expected.Add((position, payload));
            }

            Assert.That(page.Count, Is.EqualTo(expected.Count), $"page {p}");
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.That(page[i].GlobalPosition, Is.EqualTo(expected[i].Position), $"page {p}, row {i}");
                Assert.That(page.Utf8Payload(page[i]).ToArray(), Is.EqualTo(expected[i].Payload), $"page {p}, row {i}: the payload survived every later growth");
            }
        }
    }

    [Test]
    public void Reading_past_the_current_page_throws()
    {
        var page = new ReadAllPage(batchSize: 10);
        page.Add(Row(1, payloadStart: 0, payloadLength: 0));
        Assert.That(page[0].GlobalPosition, Is.EqualTo(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = page[1].GlobalPosition);
        page.Clear();
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = page[0].GlobalPosition);
        Assert.Throws<ArgumentOutOfRangeException>(() => page.ReservePayload(-1));
    }

    [Test]
    public void Names_read_back_as_their_text_and_the_same_instance_each_time_up_to_the_bound()
    {
        var random = Seeded();
        var names = new StoredNameTable();
        var texts = Enumerable.Range(0, StoredNameTable.MaxNames + 50).Select(i => Name(random, i)).ToArray();
        var first = texts.Select(t => names.Get(Encoding.UTF8.GetBytes(t))).ToArray();
        Assert.That(first, Is.EqualTo(texts), "every name reads back as its text, kept or not");
        for (var i = 0; i < texts.Length; i++)
        {
            var again = names.Get(Encoding.UTF8.GetBytes(texts[i]));
            Assert.That(again, Is.EqualTo(texts[i]));
            Assert.That(ReferenceEquals(again, first[i]), Is.EqualTo(i < StoredNameTable.MaxNames), $"name {i}: kept only within the bound");
        }

        Assert.That(names.Get([]), Is.Empty);
    }

    [Test]
    public void A_value_longer_than_any_name_reads_back_as_its_text_and_invalid_UTF8_throws()
    {
        var names = new StoredNameTable();
        var longText = string.Concat(Enumerable.Repeat("é😀x", StoredNameTable.MaxNameBytes));
        Assert.That(names.Get(Encoding.UTF8.GetBytes(longText)), Is.EqualTo(longText));
        Assert.Throws<DecoderFallbackException>(() => names.Get([0x61, 0xC3]));
        Assert.Throws<DecoderFallbackException>(() => names.Get([0xFF]));
    }

    private static string Name(Random random, int i)
    {
        var alphabet = new[] { "a", "Z", "-", ".", "é", "ü", "客", "户", "😀", " " };
        var text = new StringBuilder(i.ToString(CultureInfo.InvariantCulture));
        for (var n = random.Next(0, 30); n > 0; n--)
        {
            text.Append(alphabet[random.Next(alphabet.Length)]);
        }

        return text.ToString();
    }

    private static ReadAllRow Row(long position, int payloadStart, int payloadLength) => new()
    {
        GlobalPosition = position,
        TransactionId = 0,
        StreamType = "t",
        StreamId = "s",
        Sequence = 1,
        EventId = Guid.Empty,
        EventType = "e",
        EventVersion = 1,
        PayloadStart = payloadStart,
        PayloadLength = payloadLength,
        CreatedAt = DateTimeOffset.UnixEpoch,
    };
}
