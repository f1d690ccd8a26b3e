using EventSourcing.EFCore.Snapshots.Internal;
using NUnit.Framework;

#pragma warning disable CS0649 // the shapes below are only inspected, never used

namespace EventSourcing.EFCore.Tests;

public sealed class SnapshotShapeTests
{
    [Test]
    public void The_fingerprint_changes_when_a_field_is_added_removed_renamed_or_retyped()
    {
        var baseline = SnapshotShape.Of(typeof(Shape1)).Fingerprint;
        Assert.That(SnapshotShape.Of(typeof(Shape1Same)).Fingerprint, Is.EqualTo(baseline), "same fields in another class and order");
        Assert.That(SnapshotShape.Of(typeof(Shape1Added)).Fingerprint, Is.Not.EqualTo(baseline));
        Assert.That(SnapshotShape.Of(typeof(Shape1Removed)).Fingerprint, Is.Not.EqualTo(baseline));
        Assert.That(SnapshotShape.Of(typeof(Shape1Renamed)).Fingerprint, Is.Not.EqualTo(baseline));
        Assert.That(SnapshotShape.Of(typeof(Shape1Retyped)).Fingerprint, Is.Not.EqualTo(baseline));
    }

    [Test]
    public void Fields_are_named_by_property_for_backing_fields_and_NonSerialized_fields_are_left_out()
    {
        var names = SnapshotShape.Of(typeof(Shape1Added)).Fields.Select(f => f.Name);
        Assert.That(names, Is.EquivalentTo(new[] { "Id", "_count", "Name", "Extra" }));
        Assert.That(SnapshotShape.Of(typeof(Shape1)).SchemaVersion, Is.EqualTo(1));
        Assert.That(SnapshotShape.Of(typeof(Shape1Retyped)).SchemaVersion, Is.EqualTo(4));
    }

    [Test]
    public void The_fingerprint_covers_the_fields_of_nested_types_collection_elements_and_polymorphic_derived_types()
    {
        var description = SnapshotShape.Of(typeof(ShapeWithNested)).Description;
        Assert.That(description, Does.Contain("SnapshotShapeTests+Line{Price:System.Decimal,Qty:System.Int32}"), description);
        Assert.That(description, Does.Contain("SnapshotShapeTests+Leaf{Label:System.String}"), "a dictionary value's type");
        Assert.That(description, Does.Contain("derived:EventSourcing.EFCore.Tests.SnapshotShapeTests+Leaf=leaf"), "a polymorphic base lists its derived types");
    }

    [Test]
    public void Type_names_in_the_fingerprint_carry_no_assembly_versions()
    {
        Assert.That(SnapshotShape.TypeName(typeof(Dictionary<string, List<int>>)),
            Is.EqualTo("System.Collections.Generic.Dictionary`2[System.String,System.Collections.Generic.List`1[System.Int32]]"));
        Assert.That(SnapshotShape.TypeName(typeof(int[])), Is.EqualTo("System.Int32[]"));
    }

    [TestCase(95, 105, 100, true)]
    [TestCase(99, 100, 100, true)]
    [TestCase(100, 199, 100, false)]
    [TestCase(0, 3, 3, true)]
    [TestCase(0, 2, 3, false)]
    [TestCase(5, 17, 3, true)]
    public void SnapshotEvery_is_due_when_a_save_crosses_a_multiple(long previous, long version, long every, bool due)
        => Assert.That(SnapshotPolicy.EveryEvents(every).IsDue(new Shape1(), previous, version, []), Is.EqualTo(due));

    private sealed record Line(int Qty, decimal Price);

    [System.Text.Json.Serialization.JsonPolymorphic]
    [System.Text.Json.Serialization.JsonDerivedType(typeof(Leaf), "leaf")]
    private abstract record Node;

    private sealed record Leaf(string Label) : Node;

    private sealed class ShapeWithNested : AggregateRoot<Guid>
    {
        private readonly List<Line> _lines = [];

        private readonly Dictionary<string, Node> _nodes = [];

        public int Count => _lines.Count + _nodes.Count;
    }

    private sealed class Shape1 : AggregateRoot<Guid>
    {
        private int _count;

        public string Name { get; private set; } = "";

        public int Count => _count;
    }

    private sealed class Shape1Same : AggregateRoot<Guid>
    {
        public string Name { get; private set; } = "";

        private int _count;

        public int Count => _count;
    }

    private sealed class Shape1Added : AggregateRoot<Guid>
    {
        private int _count;

        [NonSerialized]
        private int _cache;

        public string Name { get; private set; } = "";

        public string Extra { get; private set; } = "";

        public int Count => _count + _cache;
    }

    private sealed class Shape1Removed : AggregateRoot<Guid>
    {
        private int _count;

        public int Count => _count;
    }

    private sealed class Shape1Renamed : AggregateRoot<Guid>
    {
        private int _total;

        public string Name { get; private set; } = "";

        public int Count => _total;
    }

    [SnapshotVersion(4)]
    private sealed class Shape1Retyped : AggregateRoot<Guid>
    {
        private long _count;

        public string Name { get; private set; } = "";

        public long Count => _count;
    }
}

public sealed class SnapshotSerializerTests
{
    [Test]
    public void Snapshots_round_trip_with_a_source_generated_context_that_lists_only_the_event_types()
    {
        var serializer = new SnapshotSerializer(new System.Text.Json.JsonSerializerOptions { TypeInfoResolver = OnlyEventsContext.Default });
        var ledger = Ledger.Create(Guid.NewGuid(), 42, 12.5m, ["a", "b"]);
        var json = serializer.Serialize(ledger);
        var copy = (Ledger)serializer.Deserialize(typeof(Ledger), json);
        Assert.That(copy.Describe(), Is.EqualTo(ledger.Describe()));
    }

    private sealed class Ledger : AggregateRoot<Guid>
    {
        private readonly List<string> _notes = [];
        private long _count;

        public decimal Total { get; private set; }

        public static Ledger Create(Guid id, long count, decimal total, IEnumerable<string> notes)
        {
            var ledger = new Ledger { Id = id, _count = count, Total = total };
            ledger._notes.AddRange(notes);
            return ledger;
        }

        public string Describe() => $"{Id} {_count} {Total} {string.Join(",", _notes)}";
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(SnapshotEventOnly))]
internal sealed partial class OnlyEventsContext : System.Text.Json.Serialization.JsonSerializerContext;

public sealed record SnapshotEventOnly(string Name);
