using NUnit.Framework;
using static EventSourcing.EFCore.ExpectedVersion;

namespace EventSourcing.EFCore.Tests;

public sealed class ExpectedVersionTests
{
    /// <summary>(expected version, the stream's actual version, may the append proceed).</summary>
    public static IEnumerable<TestCaseData> SatisfactionTable
    {
        get
        {
            var rows = new (ExpectedVersion Expected, long? Actual, bool Satisfied)[]
            {
                (Any, null, true),
                (Any, 0, true),
                (Any, 1, true),
                (Any, long.MaxValue, true),
                (NoStream, null, true),
                (NoStream, 0, true),
                (NoStream, 1, false),
                (StreamExists, null, false),
                (StreamExists, 0, false),
                (StreamExists, 1, true),
                (StreamExists, 99, true),
                (Exactly(0), null, true),
                (Exactly(0), 1, false),
                (Exactly(3), null, false),
                (Exactly(3), 2, false),
                (Exactly(3), 3, true),
                (Exactly(3), 4, false),
                (Exactly(long.MaxValue), long.MaxValue, true),
            };

            return rows.Select(r => new TestCaseData(r.Expected, r.Actual).Returns(r.Satisfied)
                .SetArgDisplayNames(r.Expected.ToString(), r.Actual?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"));
        }
    }

    [TestCaseSource(nameof(SatisfactionTable))]
    public bool IsSatisfiedBy_follows_the_table(ExpectedVersion expected, long? actual) => expected.IsSatisfiedBy(actual);

    [Test]
    public void Exactly_zero_is_NoStream_and_so_is_default()
    {
        Assert.That(Exactly(0), Is.EqualTo(NoStream));
        Assert.That(Exactly(0) == NoStream, Is.True);
        Assert.That(default(ExpectedVersion), Is.EqualTo(NoStream));
        Assert.That(Exactly(0).GetHashCode(), Is.EqualTo(NoStream.GetHashCode()));
    }

    [Test]
    public void The_sentinels_are_distinct_from_each_other_and_from_every_exact_version()
    {
        var values = new[] { Any, NoStream, StreamExists, Exactly(1), Exactly(2) };
        Assert.That(values, Is.Unique);
        var one = 1L;
        Assert.That(Exactly(one), Is.EqualTo(Exactly(1)));
    }

    [Test]
    public void The_sentinels_report_what_they_are()
    {
        Assert.Multiple(() =>
        {
            Assert.That((Any.IsAny, Any.IsNoStream, Any.IsStreamExists, Any.Version), Is.EqualTo((true, false, false, (long?)null)));
            Assert.That((NoStream.IsAny, NoStream.IsNoStream, NoStream.IsStreamExists, NoStream.Version), Is.EqualTo((false, true, false, (long?)0)));
            Assert.That((StreamExists.IsAny, StreamExists.IsNoStream, StreamExists.IsStreamExists, StreamExists.Version), Is.EqualTo((false, false, true, (long?)null)));
            Assert.That((Exactly(7).IsAny, Exactly(7).IsNoStream, Exactly(7).IsStreamExists, Exactly(7).Version), Is.EqualTo((false, false, false, (long?)7)));
        });
    }

    [TestCase(-1)]
    [TestCase(-2)]
    [TestCase(long.MinValue)]
    public void Exactly_a_negative_version_throws(long version)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Exactly(version));
        Assert.That(ex!.ParamName, Is.EqualTo("version"));
    }

    [Test]
    public void Exactly_a_negative_version_never_aliases_a_sentinel()
    {
        // -1 and -2 are the internal values of Any and StreamExists; they must not be reachable through Exactly.
        Assert.Throws<ArgumentOutOfRangeException>(() => Exactly(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Exactly(-2));
    }

    [Test]
    public void ToString_names_the_sentinels_and_shows_exact_versions()
    {
        Assert.That(Any.ToString(), Is.EqualTo("Any"));
        Assert.That(NoStream.ToString(), Is.EqualTo("NoStream"));
        Assert.That(Exactly(0).ToString(), Is.EqualTo("NoStream"));
        Assert.That(StreamExists.ToString(), Is.EqualTo("StreamExists"));
        Assert.That(Exactly(3).ToString(), Is.EqualTo("Exactly(3)"));
        Assert.That(Exactly(long.MaxValue).ToString(), Is.EqualTo("Exactly(9223372036854775807)"));
    }
}
