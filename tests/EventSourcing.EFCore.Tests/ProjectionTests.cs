using EventSourcing.EFCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

/// <summary>Projection definitions and registration, without a database.</summary>
public sealed class ProjectionTests
{
    [Test]
    public void A_projection_name_must_be_usable()
    {
        Assert.Throws<ArgumentException>(() => _ = new NamedProjection(" "));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new NamedProjection(new string('p', 257)))!.ParamName, Is.EqualTo("name"));
        Assert.That(new NamedProjection(new string('p', 256)).Name, Has.Length.EqualTo(256));
    }

    [Test]
    public void A_second_handler_for_one_event_type_throws_naming_the_projection_and_type()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => _ = new TwiceProjection());
        Assert.That(ex!.Message, Does.Contain("'twice'").And.Contain(nameof(Placed)));
    }

    [Test]
    public void Handlers_match_the_event_type_and_types_derived_from_it_exact_type_first()
    {
        var projection = new DispatchProjection();
        Assert.That(projection.Handles(typeof(Placed)), Is.True);
        Assert.That(projection.Handles(typeof(PlacedExpress)), Is.True, "a handler for a base type serves derived types");
        Assert.That(projection.Handles(typeof(string)), Is.False);
    }

    [Test]
    public void The_default_reset_hook_refuses_to_rebuild_and_says_what_to_override()
    {
        var task = new NamedProjection("no-reset").ResetAsync(null!, CancellationToken.None);
        Assert.That(task.IsFaulted, Is.True);
        Assert.That(task.Exception!.InnerException, Is.TypeOf<InvalidOperationException>().With.Message.Contain("ResetAsync"));
    }

    [Test]
    public void Two_projections_under_one_name_are_rejected_when_registered()
    {
        var builder = new DbContextOptionsBuilder<UnitDbContext>().UseInMemoryDatabase(Guid.NewGuid().ToString());
        var ex = Assert.Throws<InvalidOperationException>(() => builder.UseEventSourcing(es => es
            .AddProjection(new NamedProjection("same"))
            .AddInlineProjection<UnitDbContext>("same", p => p.On<Placed>((_, _, _) => { }))));
        Assert.That(ex!.Message, Does.Contain("'same'"));
    }

    [Test]
    public void A_projection_registered_on_another_context_type_is_reported_when_used()
    {
        using var db = new UnitDbContext(new DbContextOptionsBuilder<UnitDbContext>()
            .UseInMemoryDatabase(Guid.NewGuid().ToString())
            .UseEventSourcing(es => es.AddProjection(new OtherContextProjection()))
            .Options);
        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => db.Projections().CatchUpAsync("other"));
        Assert.That(ex!.Message, Does.Contain(nameof(OtherContext)).And.Contain(nameof(UnitDbContext)));
    }

    public record Placed(int Id);

    public sealed record PlacedExpress(int Id) : Placed(Id);

    private sealed class NamedProjection(string name) : Projection<UnitDbContext>(name);

    private sealed class TwiceProjection : Projection<UnitDbContext>
    {
        public TwiceProjection()
            : base("twice")
        {
            On<Placed>((_, _, _) => { });
            On<Placed>((_, _, _, _) => Task.CompletedTask);
        }
    }

    private sealed class DispatchProjection : Projection<UnitDbContext>
    {
        public DispatchProjection()
            : base("dispatch")
        {
            On<Placed>((_, _, _) => { });
        }
    }

    private sealed class OtherContext(DbContextOptions<OtherContext> options) : DbContext(options);

    private sealed class OtherContextProjection : Projection<OtherContext>
    {
        public OtherContextProjection()
            : base("other")
        {
        }
    }
}
