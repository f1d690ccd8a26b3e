using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

/// <summary>Event types whose data cannot round-trip are reported when the options are configured, naming type and member.</summary>
public sealed class EventContractsTests
{
    private static void Configure<TEvent>(JsonSerializerOptions? options = null)
    {
        var builder = new DbContextOptionsBuilder<UnitDbContext>().UseInMemoryDatabase("unused");
        builder.UseEventSourcing(es =>
        {
            es.MapEvent<TEvent>("contracts." + typeof(TEvent).Name);
            if (options is not null)
            {
                es.UseJsonSerializerOptions(options);
            }
        });
    }

    [Test]
    public void A_property_with_a_private_setter_is_reported_with_type_and_member()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Configure<PrivateSetter>());
        Assert.That(ex!.Message, Does.Contain(typeof(PrivateSetter).FullName!).And.Contain("PrivateSetter.Name").And.Contain("setter"));
    }

    [Test]
    public void A_type_without_a_usable_constructor_is_reported()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Configure<NoConstructor>());
        Assert.That(ex!.Message, Does.Contain(typeof(NoConstructor).FullName!).And.Contain("constructor"));
    }

    [Test]
    public void A_problem_in_a_nested_type_a_list_element_or_a_polymorphic_derived_type_is_reported_with_its_path()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Configure<Nested>());
        Assert.That(ex!.Message, Does.Contain("Nested.Lines[].Qty"), "a list element's private setter");
        Assert.That(ex.Message, Does.Contain("Nested.Shape<Square>.Side"), "a derived type's get-only auto-property");
    }

    [Test]
    public void A_value_tuple_member_is_reported_unless_fields_are_included()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Configure<WithTuple>());
        Assert.That(ex!.Message, Does.Contain("WithTuple.Line.Item1").And.Contain("IncludeFields"));
        Assert.DoesNotThrow(() => Configure<WithTuple>(new JsonSerializerOptions(JsonSerializerDefaults.Web) { IncludeFields = true }));
    }

    [Test]
    public void Records_computed_properties_init_setters_and_JsonInclude_pass()
        => Assert.DoesNotThrow(() => Configure<Fine>());

    public sealed class PrivateSetter
    {
        public string Name { get; private set; } = "";
    }

    public sealed class NoConstructor
    {
        private NoConstructor(int value) => Value = value;

        private NoConstructor(string value) => Value = value.Length;

        public int Value { get; set; }
    }

    public sealed record Line
    {
        public int Qty { get; private set; }
    }

    [JsonPolymorphic]
    [JsonDerivedType(typeof(Square), "square")]
    public abstract record Shape;

    public sealed record Square : Shape
    {
        public int Side { get; } = 1;
    }

    public sealed record Nested(List<Line> Lines, Shape Shape);

    public sealed record WithTuple((int Qty, decimal Price) Line);

    public sealed record Fine(int Qty, decimal Price, Dictionary<string, List<int>> Items)
    {
        public decimal Total => Qty * Price;

        public string Note { get; init; } = "";

        [JsonInclude]
        public string Hidden { get; private set; } = "";
    }
}
