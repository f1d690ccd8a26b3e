using EventSourcing.EFCore.Serialization.Internal;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

public sealed class EventTypeRegistryTests
{
    private static readonly System.Reflection.Assembly ThisAssembly = typeof(UnitPlaced).Assembly;

    private static EventTypeRegistry Build(params EventTypeMapping[] mappings) => EventTypeRegistry.Build([], mappings);

    [Test]
    public void AddEvents_registers_every_type_carrying_EventType_with_its_name_and_version()
    {
        var registry = EventTypeRegistry.Build([ThisAssembly], []);
        Assert.That(registry.GetByType(typeof(UnitPlaced)), Is.EqualTo(new EventTypeMapping(typeof(UnitPlaced), "unit.placed", 1)));
        Assert.That(registry.GetByType(typeof(UnitShipped)), Is.EqualTo(new EventTypeMapping(typeof(UnitShipped), "unit.shipped", 3)));
        Assert.That(registry.GetByName("unit.shipped").ClrType, Is.EqualTo(typeof(UnitShipped)));
        Assert.That(registry.Mappings.Select(m => m.Name), Is.EquivalentTo(new[] { "unit.placed", "unit.shipped", "unit.base" }));
    }

    [Test]
    public void Types_without_the_attribute_are_not_events()
    {
        var registry = EventTypeRegistry.Build([ThisAssembly], []);
        var ex = Assert.Throws<UnknownEventTypeException>(() => registry.GetByType(typeof(Unattributed)));
        Assert.That(ex!.ClrType, Is.EqualTo(typeof(Unattributed)));
        Assert.That(registry.TryGetByType(typeof(Unattributed), out _), Is.False);
    }

    [Test]
    public void A_subclass_does_not_inherit_its_base_class_registration()
    {
        var registry = EventTypeRegistry.Build([ThisAssembly], []);
        Assert.That(registry.TryGetByType(typeof(UnitBase), out _), Is.True);
        Assert.That(registry.TryGetByType(typeof(UnitDerived), out _), Is.False);
    }

    [Test]
    public void An_unknown_stored_name_throws_UnknownEventTypeException_carrying_the_name()
    {
        var ex = Assert.Throws<UnknownEventTypeException>(() => Build().GetByName("nobody.knows"));
        Assert.That(ex!.EventType, Is.EqualTo("nobody.knows"));
        Assert.That(ex.ClrType, Is.Null);
        Assert.That(ex.Message, Does.Contain("nobody.knows"));
    }

    [Test]
    public void MapEvent_registers_a_type_under_the_given_name_and_version()
    {
        var registry = Build(new EventTypeMapping(typeof(ClashA), "clash.a", 2));
        Assert.That(registry.GetByName("clash.a"), Is.EqualTo(new EventTypeMapping(typeof(ClashA), "clash.a", 2)));
    }

    [Test]
    public void Names_are_case_sensitive()
    {
        var registry = Build(new EventTypeMapping(typeof(ClashA), "clash", 1), new EventTypeMapping(typeof(ClashB), "CLASH", 1));
        Assert.That(registry.GetByName("clash").ClrType, Is.EqualTo(typeof(ClashA)));
        Assert.That(registry.GetByName("CLASH").ClrType, Is.EqualTo(typeof(ClashB)));
    }

    [Test]
    public void Two_types_under_one_name_fail_naming_both_types_and_the_name()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build(
            new EventTypeMapping(typeof(ClashA), "clash", 1),
            new EventTypeMapping(typeof(ClashB), "clash", 1)));
        Assert.That(ex!.Message, Does.Contain(typeof(ClashA).FullName!).And.Contain(typeof(ClashB).FullName!).And.Contain("'clash'"));
    }

    [Test]
    public void A_mapped_type_under_an_attributed_types_name_fails_naming_both_types()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => EventTypeRegistry.Build([ThisAssembly], [new EventTypeMapping(typeof(ClashA), "unit.placed", 1)]));
        Assert.That(ex!.Message, Does.Contain(typeof(UnitPlaced).FullName!).And.Contain(typeof(ClashA).FullName!).And.Contain("unit.placed"));
    }

    [Test]
    public void One_type_under_two_names_fails_naming_the_type_and_both_names()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build(
            new EventTypeMapping(typeof(ClashA), "first", 1),
            new EventTypeMapping(typeof(ClashA), "second", 1)));
        Assert.That(ex!.Message, Does.Contain(typeof(ClashA).FullName!).And.Contain("'first'").And.Contain("'second'"));
    }

    [Test]
    public void An_attributed_type_mapped_again_under_its_own_name_and_version_is_accepted()
    {
        var registry = EventTypeRegistry.Build([ThisAssembly, ThisAssembly], [new EventTypeMapping(typeof(UnitPlaced), "unit.placed", 1)]);
        Assert.That(registry.GetByType(typeof(UnitPlaced)).Name, Is.EqualTo("unit.placed"));
    }

    [Test]
    public void One_type_under_one_name_with_two_versions_fails_naming_both_versions()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => EventTypeRegistry.Build([ThisAssembly], [new EventTypeMapping(typeof(UnitPlaced), "unit.placed", 2)]));
        Assert.That(ex!.Message, Does.Contain(typeof(UnitPlaced).FullName!).And.Contain("1").And.Contain("2"));
        Assert.That(ex.Message, Does.Not.Contain("two names"), "the type has one name and two versions");
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("   ")]
    [TestCase(" leading")]
    [TestCase("trailing ")]
    [TestCase("new\nline")]
    [TestCase("nul\0")]
    public void An_unusable_name_fails_naming_the_type(string? name)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build(new EventTypeMapping(typeof(ClashA), name!, 1)));
        Assert.That(ex!.Message, Does.Contain(typeof(ClashA).FullName!));
    }

    [Test]
    public void A_name_of_200_characters_is_accepted_and_201_is_not()
    {
        Assert.That(Build(new EventTypeMapping(typeof(ClashA), new string('n', EventTypeName.MaxLength), 1)).Mappings, Has.Count.EqualTo(1));
        var ex = Assert.Throws<InvalidOperationException>(() => Build(new EventTypeMapping(typeof(ClashA), new string('n', EventTypeName.MaxLength + 1), 1)));
        Assert.That(ex!.Message, Does.Contain("200"));
    }

    [TestCase(typeof(AbstractEvent))]
    [TestCase(typeof(IEventContract))]
    [TestCase(typeof(GenericEvent<>))]
    public void A_type_that_cannot_be_instantiated_fails_naming_it(Type type)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build(new EventTypeMapping(type, "x", 1)));
        Assert.That(ex!.Message, Does.Contain(type.FullName!));
    }

    [Test]
    public void A_closed_generic_type_is_accepted()
        => Assert.That(Build(new EventTypeMapping(typeof(GenericEvent<int>), "generic.int", 1)).GetByName("generic.int").ClrType, Is.EqualTo(typeof(GenericEvent<int>)));

    [TestCase(0)]
    [TestCase(-1)]
    public void A_version_below_1_fails_naming_the_type_and_version(int version)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build(new EventTypeMapping(typeof(ClashA), "x", version)));
        Assert.That(ex!.Message, Does.Contain(typeof(ClashA).FullName!).And.Contain(version.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}
