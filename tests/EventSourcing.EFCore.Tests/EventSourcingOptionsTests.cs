using EventSourcing.EFCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

/// <summary>UseEventSourcing on EF InMemory: what fails when, and with which message.</summary>
public sealed class EventSourcingOptionsTests
{
    private static DbContextOptions<UnitDbContext> Options(Action<EventSourcingDbContextOptionsBuilder> configure)
        => new DbContextOptionsBuilder<UnitDbContext>()
            .UseInMemoryDatabase(Guid.NewGuid().ToString())
            .UseEventSourcing(configure)
            .Options;

    private static UnitDbContext CreateContext(Action<EventSourcingDbContextOptionsBuilder> configure) => new(Options(configure));

    [Test]
    public void Two_event_types_under_one_name_fail_at_configuration_naming_both_types()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Options(es => es.MapEvent<ClashA>("options.clash").MapEvent<ClashB>("options.clash")));
        Assert.That(ex!.Message, Does.Contain(typeof(ClashA).FullName!).And.Contain(typeof(ClashB).FullName!).And.Contain("'options.clash'"));
    }

    [Test]
    public void Two_event_types_under_one_name_fail_at_configuration_even_when_EF_reuses_its_service_provider()
    {
        using (var valid = CreateContext(es => es.MapEvent<ClashA>("options.cached.a").MapEvent<ClashB>("options.cached.b")))
        {
            Assert.That(valid.Events(), Is.Not.Null);
        }

        var ex = Assert.Throws<InvalidOperationException>(() => Options(es => es.MapEvent<ClashA>("options.cached").MapEvent<ClashB>("options.cached")));
        Assert.That(ex?.Message, Does.Contain(typeof(ClashA).FullName!).And.Contain(typeof(ClashB).FullName!));
    }

    [Test]
    public void An_unusable_name_in_MapEvent_fails_at_configuration()
    {
        var builder = new DbContextOptionsBuilder<UnitDbContext>().UseInMemoryDatabase("unused");
        var ex = Assert.Throws<InvalidOperationException>(() => builder.UseEventSourcing(es => es.MapEvent<ClashA>(" ")));
        Assert.That(ex!.Message, Does.Contain(typeof(ClashA).FullName!));
    }

    [Test]
    public void A_version_below_1_in_MapEvent_fails_at_configuration()
    {
        var builder = new DbContextOptionsBuilder<UnitDbContext>().UseInMemoryDatabase("unused");
        Assert.Throws<InvalidOperationException>(() => builder.UseEventSourcing(es => es.MapEvent<ClashA>("x", version: 0)));
    }

    [TestCase(0)]
    [TestCase(-1)]
    public void MaxEventSize_below_1_is_rejected(int bytes)
    {
        var builder = new DbContextOptionsBuilder<UnitDbContext>().UseInMemoryDatabase("unused");
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => builder.UseEventSourcing(es => es.MaxEventSize(bytes)));
        Assert.That(ex!.ParamName, Is.EqualTo("bytes"));
    }

    [Test]
    public void Null_arguments_are_rejected()
    {
        var builder = new DbContextOptionsBuilder<UnitDbContext>().UseInMemoryDatabase("unused");
        Assert.Throws<ArgumentNullException>(() => builder.UseEventSourcing(es => es.AddEvents(null!)));
        Assert.Throws<ArgumentNullException>(() => builder.UseEventSourcing(es => es.MapEvent(null!, "x")));
        Assert.Throws<ArgumentNullException>(() => ((DbContextOptionsBuilder)null!).UseEventSourcing());
    }

    [Test]
    public async Task AddEvents_and_MapEvent_together_serve_appends()
    {
        await using var db = CreateContext(es => es.AddEvents(typeof(UnitPlaced).Assembly).MapEvent<Unattributed>("unit.unattributed"));
        var stream = new StreamId("order", Guid.NewGuid().ToString("N"));
        db.Events().Append(stream, ExpectedVersion.NoStream, new UnitPlaced(Guid.NewGuid()), new Unattributed(1));
        db.SaveChanges();
        Assert.That(await db.Events().GetStreamVersionAsync(stream), Is.EqualTo(2));
    }
}
