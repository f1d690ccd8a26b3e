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
    public void Rows_and_payloads_decode_as_added_over_pages_whatever_the_buffer_grows_to()
    {
        var random = Seeded();
        var page = new ReadAllPage(batchSize: random.Next(1, 2000), Decode);
        for (var p = 0; p < 20; p++)
        {
            page.Clear();
            Assert.That(page.Count, Is.Zero);
            var expected = new List<(long Position, byte[]? Payload, string? Text)>();
            for (var i = random.Next(0, 300); i > 0; i--)
            {
                var position = random.NextInt64(1, long.MaxValue);
                if (random.Next(5) == 0)
                {
                    var text = random.Next(1000).ToString(CultureInfo.InvariantCulture);
                    page.Add(Row(position, payloadLength: 0) with { Payload = text });
                    expected.Add((position, null, text));
                    continue;
                }

                var payload = new byte[random.Next(4) == 0 ? random.Next(0, 20_000) : random.Next(0, 100)];
                random.NextBytes(payload);
                var (buffer, start) = page.ReservePayload(payload.Length);
                payload.CopyTo(buffer, start);
                page.Add(Row(position, payloadLength: payload.Length) with { PayloadStart = start });
                expected.Add((position, payload, null));
            }

            Assert.That(page.Count, Is.EqualTo(expected.Count), $"page {p}");
            Assert.That(page.LastPosition, Is.EqualTo(expected.Count == 0 ? 0 : expected[^1].Position), $"page {p}");
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.That(page[i].GlobalPosition, Is.EqualTo(expected[i].Position), $"page {p}, row {i}");
                Assert.That(page[i].Data, Is.EqualTo((object?)expected[i].Payload ?? expected[i].Text), $"page {p}, row {i}: the payload decoded is the one added");
            }
        }
    }

    [Test]
    public void A_row_that_does_not_decode_throws_its_own_exception_when_reached_and_the_rows_before_it_read_back()
    {
        var random = Seeded();
        var page = new ReadAllPage(batchSize: 100, (in ReadAllRow row, ReadOnlySpan<byte> _) =>
            row.EventType == "bad" ? throw new EventDeserializationException(default, row.Sequence, row.GlobalPosition, row.EventType, $"row {row.GlobalPosition}", new FormatException()) : Decode(row, default));
        for (var p = 0; p < 10; p++)
        {
            page.Clear();
            var rows = random.Next(1, 100);
            var firstBad = random.Next(rows);
            for (var i = 0; i < rows; i++)
            {
                page.Add(Row(i + 1, payloadLength: 0) with { Payload = "{}", EventType = i >= firstBad && random.Next(2) == 0 || i == firstBad ? "bad" : "e" });
            }

            Assert.That(page.Count, Is.EqualTo(rows), "rows after a failing one are still counted (the page is full or not)");
            for (var i = 0; i < firstBad; i++)
            {
                Assert.That(page[i].GlobalPosition, Is.EqualTo(i + 1));
            }

            for (var i = firstBad; i < rows; i++)
            {
                var thrown = Assert.Throws<EventDeserializationException>(() => _ = page[i]);
                Assert.That(thrown!.Message, Is.EqualTo($"row {firstBad + 1}"), $"row {i}: the first failing row's exception");
            }
        }

        page.Clear();
        page.Add(Row(1, payloadLength: 0) with { Payload = "{}" });
        Assert.That(page[0].GlobalPosition, Is.EqualTo(1), "a new page starts without the last page's failure");
    }

    [Test]
    public void A_cancellation_raised_while_decoding_a_row_is_thrown_at_that_row_not_while_the_page_is_read()
    {
        var page = new ReadAllPage(batchSize: 10, (in ReadAllRow row, ReadOnlySpan<byte> _) =>
            row.GlobalPosition == 3 ? throw new OperationCanceledException("upcaster") : Decode(row, default));
        for (var i = 1; i <= 5; i++)
        {
            page.Add(Row(i, payloadLength: 0) with { Payload = "{}" });
        }

        Assert.That(page.Count, Is.EqualTo(5));
        Assert.That(new[] { page[0].GlobalPosition, page[1].GlobalPosition }, Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(Assert.Throws<OperationCanceledException>(() => _ = page[2])!.Message, Is.EqualTo("upcaster"));
    }

    [Test]
    public void Reading_past_the_current_page_throws()
    {
        var page = new ReadAllPage(batchSize: 10, Decode);
        page.Add(Row(1, payloadLength: 0) with { Payload = "x" });
        Assert.That(page[0].GlobalPosition, Is.EqualTo(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = page[1]);
        page.Clear();
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = page[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => page.ReservePayload(-1));
    }

    [Test]
    public void Names_read_back_as_their_text_and_the_same_instance_each_time_up_to_the_bound()
    {
        var random = Seeded();
        var names = new StoredNameTable(StoredNameTable.MaxNamesPerRead);
        var texts = Enumerable.Range(0, StoredNameTable.MaxNamesPerRead + 50).Select(i => Name(random, i)).ToArray();
        var first = texts.Select(t => names.Get(Encoding.UTF8.GetBytes(t))).ToArray();
        Assert.That(first, Is.EqualTo(texts), "every name reads back as its text, kept or not");
        for (var i = 0; i < texts.Length; i++)
        {
            var again = names.Get(Encoding.UTF8.GetBytes(texts[i]));
            Assert.That(again, Is.EqualTo(texts[i]));
            Assert.That(ReferenceEquals(again, first[i]), Is.EqualTo(i < StoredNameTable.MaxNamesPerRead), $"name {i}: kept only within the bound");
        }

        Assert.That(names.Get([]), Is.Empty);
    }

    [Test]
    public void A_value_longer_than_any_name_reads_back_as_its_text_and_invalid_UTF8_throws()
    {
        var names = new StoredNameTable(StoredNameTable.MaxNamesPerRead);
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

    private static RecordedEvent Decode(in ReadAllRow row, ReadOnlySpan<byte> utf8Payload)
        => new(
            new StreamId(row.StreamType, row.StreamId), row.Sequence, row.GlobalPosition, row.Checkpoint, row.EventId, row.EventType, row.EventVersion,
            (object?)row.Payload ?? utf8Payload.ToArray(), new Dictionary<string, string>(), row.CreatedAt);

    private static ReadAllRow Row(long position, int payloadLength) => new()
    {
        GlobalPosition = position,
        TransactionId = 0,
        StreamType = "t",
        StreamId = "s",
        Sequence = 1,
        EventId = Guid.Empty,
        EventType = "e",
        EventVersion = 1,
        PayloadLength = payloadLength,
        CreatedAt = DateTimeOffset.UnixEpoch,
    };
}
