using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

public sealed class StreamIdTests
{
    public static IEnumerable<TestCaseData> BadParts
    {
        get
        {
            var values = new (string Name, string? Value)[]
            {
                ("null", null),
                ("empty", ""),
                ("space", " "),
                ("tab and newline", "\t\n"),
                ("257 characters", new string('x', StreamId.MaxLength + 1)),
                ("NUL", "a\0b"),
                ("tab inside", "a\tb"),
                ("DEL", "a\u007Fb"),
                ("C1 control NEL", "a\u0085b"),
            };

            foreach (var (name, value) in values)
            {
                yield return new TestCaseData(value, "1", "type").SetArgDisplayNames("type: " + name);
                yield return new TestCaseData("order", value, "id").SetArgDisplayNames("id: " + name);
            }
        }
    }

    [Test]
    public void Constructor_keeps_type_and_id()
    {
        var stream = new StreamId("order", "42");
        Assert.That(stream.Type, Is.EqualTo("order"));
        Assert.That(stream.Id, Is.EqualTo("42"));
        Assert.That(stream.IsDefault, Is.False);
    }

    [TestCaseSource(nameof(BadParts))]
    public void A_bad_type_or_id_throws_ArgumentException_naming_the_parameter(string? type, string? id, string parameter)
    {
        var ex = Assert.Catch<ArgumentException>(() => _ = new StreamId(type!, id!));
        Assert.That(ex!.ParamName, Is.EqualTo(parameter));
    }

    [Test]
    public void A_null_type_or_id_throws_ArgumentNullException()
    {
        Assert.That(Assert.Throws<ArgumentNullException>(() => _ = new StreamId(null!, "1"))!.ParamName, Is.EqualTo("type"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => _ = new StreamId("order", null!))!.ParamName, Is.EqualTo("id"));
    }

    [Test]
    public void Type_and_id_of_exactly_256_characters_are_accepted()
    {
        var longest = new string('x', StreamId.MaxLength);
        var stream = new StreamId(longest, longest);
        Assert.That(stream.Type, Has.Length.EqualTo(256));
        Assert.That(stream.Id, Has.Length.EqualTo(256));
    }

    [TestCase("order", "a/b")]
    [TestCase("bestellung", "größe-ß")]
    [TestCase("注文", "🧾-1")]
    [TestCase(" padded ", " x ")]
    public void Printable_text_including_slashes_unicode_and_inner_spaces_is_accepted(string type, string id)
    {
        var stream = new StreamId(type, id);
        Assert.That((stream.Type, stream.Id), Is.EqualTo((type, id)));
    }

    [Test]
    public void Equal_type_and_id_make_equal_stream_ids()
    {
        var a = new StreamId("order", "1");
        var b = new StreamId("order", "1");
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a == b, Is.True);
        Assert.That(a != b, Is.False);
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
    }

    [TestCase("order", "1", "order", "2")]
    [TestCase("order", "1", "invoice", "1")]
    [TestCase("order", "a", "order", "A")]
    [TestCase("Order", "1", "order", "1")]
    [TestCase("order", "ss", "order", "ß")]
    public void Stream_ids_differing_in_type_or_id_are_not_equal_and_comparison_is_ordinal(string type1, string id1, string type2, string id2)
    {
        var a = new StreamId(type1, id1);
        var b = new StreamId(type2, id2);
        Assert.That(a, Is.Not.EqualTo(b));
        Assert.That(a == b, Is.False);
    }

    [Test]
    public void Default_is_not_equal_to_any_real_stream_id()
    {
        Assert.That(default(StreamId), Is.Not.EqualTo(new StreamId("order", "1")));
        var none = default(StreamId);
        Assert.That(none == default, Is.True);
    }

    [Test]
    public void ToString_is_type_slash_id()
        => Assert.That(new StreamId("order", "42").ToString(), Is.EqualTo("order/42"));

    [Test]
    public void Default_is_IsDefault_and_says_so_in_ToString()
    {
        var stream = default(StreamId);
        Assert.That(stream.IsDefault, Is.True);
        Assert.That(stream.ToString(), Is.EqualTo("(default StreamId)"));
    }

    [Test]
    public void Stream_ids_work_as_dictionary_keys()
    {
        var versions = new Dictionary<StreamId, long> { [new StreamId("order", "1")] = 3 };
        Assert.That(versions[new StreamId("order", "1")], Is.EqualTo(3));
        Assert.That(versions.ContainsKey(new StreamId("order", "2")), Is.False);
    }
}
