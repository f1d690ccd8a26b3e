using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

public sealed class GlobalCheckpointTests
{
    [Test]
    public void Start_is_default_and_comes_before_every_other_checkpoint()
    {
        Assert.That(GlobalCheckpoint.Start, Is.EqualTo(default(GlobalCheckpoint)));
        Assert.That((GlobalCheckpoint.Start.TransactionId, GlobalCheckpoint.Start.Position), Is.EqualTo((0UL, 0L)));
        Assert.That(GlobalCheckpoint.Start < new GlobalCheckpoint(0, 1), Is.True);
        Assert.That(GlobalCheckpoint.Start < new GlobalCheckpoint(1, 0), Is.True);
    }

    [Test]
    public void Checkpoints_order_by_transaction_id_first_then_position()
    {
        var ordered = new[]
        {
            new GlobalCheckpoint(0, 0),
            new GlobalCheckpoint(0, 5),
            new GlobalCheckpoint(1, 1),
            new GlobalCheckpoint(1, 100),
            new GlobalCheckpoint(2, 3),
            new GlobalCheckpoint(ulong.MaxValue, 0),
            new GlobalCheckpoint(ulong.MaxValue, long.MaxValue),
        };

        var shuffled = ordered.Reverse().ToList();
        shuffled.Sort();
        Assert.That(shuffled, Is.EqualTo(ordered));
        for (var i = 1; i < ordered.Length; i++)
        {
            var (before, after) = (ordered[i - 1], ordered[i]);
            Assert.That(before < after && after > before && before <= after && after >= before, Is.True, $"{before} < {after}");
            Assert.That(before >= after || after <= before, Is.False, $"{before} < {after}");
            Assert.That(before.CompareTo(after), Is.Negative);
            Assert.That(after.CompareTo(before), Is.Positive);
        }
    }

    [Test]
    public void A_larger_position_in_an_earlier_transaction_still_comes_first()
        => Assert.That(new GlobalCheckpoint(1, 1_000_000) < new GlobalCheckpoint(2, 1), Is.True);

    [Test]
    public void Equal_checkpoints_compare_as_zero()
    {
        var a = new GlobalCheckpoint(7, 9);
        var b = new GlobalCheckpoint(7, 9);
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a.CompareTo(b), Is.Zero);
        Assert.That(a <= b && a >= b && !(a < b) && !(a > b), Is.True);
    }

    [Test]
    public void CompareTo_object_accepts_a_boxed_checkpoint_sorts_null_first_and_rejects_other_types()
    {
        IComparable checkpoint = new GlobalCheckpoint(1, 1);
        Assert.That(checkpoint.CompareTo(new GlobalCheckpoint(1, 2)), Is.Negative);
        Assert.That(checkpoint.CompareTo(null), Is.Positive);
        var ex = Assert.Throws<ArgumentException>(() => checkpoint.CompareTo("1:1"));
        Assert.That(ex!.ParamName, Is.EqualTo("obj"));
    }

    [Test]
    public void A_negative_position_is_rejected()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new GlobalCheckpoint(0, -1));
        Assert.That(ex!.ParamName, Is.EqualTo("position"));
    }

    [TestCase(0UL, 0L, "0:0")]
    [TestCase(12UL, 34L, "12:34")]
    [TestCase(ulong.MaxValue, long.MaxValue, "18446744073709551615:9223372036854775807")]
    public void ToString_and_Parse_round_trip(ulong transactionId, long position, string text)
    {
        var checkpoint = new GlobalCheckpoint(transactionId, position);
        Assert.That(checkpoint.ToString(), Is.EqualTo(text));
        Assert.That(GlobalCheckpoint.Parse(text), Is.EqualTo(checkpoint));
        Assert.That(GlobalCheckpoint.TryParse(text, out var parsed), Is.True);
        Assert.That(parsed, Is.EqualTo(checkpoint));
    }

    [Test]
    [SetCulture("ar-SA")]
    public void ToString_and_Parse_ignore_the_current_culture()
    {
        var checkpoint = new GlobalCheckpoint(1234567, 7654321);
        Assert.That(checkpoint.ToString(), Is.EqualTo("1234567:7654321"));
        Assert.That(GlobalCheckpoint.Parse("1234567:7654321"), Is.EqualTo(checkpoint));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase(":")]
    [TestCase("1")]
    [TestCase("1:")]
    [TestCase(":1")]
    [TestCase("a:1")]
    [TestCase("1:b")]
    [TestCase("-1:1")]
    [TestCase("1:-1")]
    [TestCase("+1:1")]
    [TestCase(" 1:1")]
    [TestCase("1:1 ")]
    [TestCase("1 :1")]
    [TestCase("1:2:3")]
    [TestCase("1.0:1")]
    [TestCase("1,000:1")]
    [TestCase("0x1:1")]
    [TestCase("18446744073709551616:1")]
    [TestCase("1:9223372036854775808")]
    [TestCase("１:１")]
    public void TryParse_rejects_anything_ToString_does_not_write(string? text)
    {
        Assert.That(GlobalCheckpoint.TryParse(text, out var checkpoint), Is.False);
        Assert.That(checkpoint, Is.EqualTo(GlobalCheckpoint.Start));
        if (text is not null)
        {
            var ex = Assert.Throws<FormatException>(() => GlobalCheckpoint.Parse(text));
            Assert.That(ex!.Message, Does.Contain(text));
        }
    }

    [Test]
    public void Parse_null_throws_ArgumentNullException()
        => Assert.Throws<ArgumentNullException>(() => GlobalCheckpoint.Parse(null!));
}
