using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.OutboxInternal;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

/// <summary>UseOutbox: defaults, accumulated routes, rejected arguments, and the retry backoff.</summary>
public sealed class OutboxOptionsTests
{
    private static OutboxSettings? Configure(Action<OutboxOptionsBuilder> configure)
        => new DbContextOptionsBuilder<UnitDbContext>()
            .UseInMemoryDatabase("unused")
            .UseEventSourcing(es => es.UseOutbox(configure))
            .Options.FindExtension<EventSourcingOptionsExtension>()!.Outbox;

    [Test]
    public void Defaults_are_10_attempts_1s_to_5min_backoff_ordered_batches_of_100_and_7_days_retention()
    {
        var settings = Configure(o => o.PublishAll("all"))!;
        Assert.That(settings.MaxAttempts, Is.EqualTo(10));
        Assert.That((settings.InitialBackoff, settings.MaxBackoff), Is.EqualTo((TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5))));
        Assert.That(settings.PreserveStreamOrder, Is.True);
        Assert.That(settings.BatchSize, Is.EqualTo(100));
        Assert.That(settings.Retention, Is.EqualTo(TimeSpan.FromDays(7)));
    }

    [Test]
    public void Routes_accumulate_across_calls_and_UseOutbox_calls()
    {
        var settings = new DbContextOptionsBuilder<UnitDbContext>()
            .UseInMemoryDatabase("unused")
            .UseEventSourcing(es => es.UseOutbox(o => o.Publish<string>("a").PublishAll("b")).UseOutbox(o => o.MaxAttempts(2).Publish(_ => true, "c")))
            .Options.FindExtension<EventSourcingOptionsExtension>()!.Outbox!;
        Assert.That(settings.Routes.Select(r => r.Destination), Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(settings.MaxAttempts, Is.EqualTo(2));
    }

    [Test]
    public void Invalid_arguments_are_rejected_naming_them()
    {
        Assert.That(Assert.Throws<ArgumentException>(() => Configure(o => o.PublishAll(" ")))!.ParamName, Is.EqualTo("destination"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => Configure(o => o.Publish(null!, "d")))!.ParamName, Is.EqualTo("predicate"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Configure(o => o.MaxAttempts(0)))!.ParamName, Is.EqualTo("attempts"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Configure(o => o.BatchSize(0)))!.ParamName, Is.EqualTo("size"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Configure(o => o.DispatchUnordered(0)))!.ParamName, Is.EqualTo("maxDegreeOfParallelism"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Configure(o => o.RetryBackoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1))))!.ParamName, Is.EqualTo("maxDelay"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Configure(o => o.RetainDispatchedFor(TimeSpan.FromSeconds(-1))))!.ParamName, Is.EqualTo("retention"));
        Assert.Throws<ArgumentNullException>(() => new DbContextOptionsBuilder().UseEventSourcing(es => es.UseOutbox(null!)));
    }

    [Test]
    public void Backoff_doubles_per_failure_up_to_the_maximum_with_jitter_between_half_and_all_of_it()
    {
        var settings = Configure(o => o.RetryBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)))!;
        for (var i = 0; i < 50; i++)
        {
            Assert.That(settings.BackoffAfter(1), Is.InRange(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1)));
            Assert.That(settings.BackoffAfter(3), Is.InRange(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)));
            Assert.That(settings.BackoffAfter(40), Is.InRange(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)));
        }

        Assert.That(Configure(o => o.RetryBackoff(TimeSpan.Zero, TimeSpan.Zero))!.BackoffAfter(5), Is.EqualTo(TimeSpan.Zero));
    }
}
