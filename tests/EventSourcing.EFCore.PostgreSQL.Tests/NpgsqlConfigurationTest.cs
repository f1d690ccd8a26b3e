using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>Misconfiguring the PostgreSQL backend fails at start-up (the first context) with a message that says what to call.</summary>
public sealed class NpgsqlConfigurationTest
{
    [Test]
    public void UseEventSourcing_on_Npgsql_without_UsePostgreSql_fails_and_says_to_call_it()
    {
        var options = new DbContextOptionsBuilder<TestDbContext>()
            .UseNpgsql("Host=127.0.0.1;Database=unused")
            .UseEventSourcing(es => es.AddEvents(typeof(TestDbContext).Assembly))
            .Options;
        var ex = Assert.Throws<InvalidOperationException>(() =>
        {
            using var db = new TestDbContext(options);
            db.Events();
        });
        Assert.That(ex!.Message, Does.Contain("UsePostgreSql()"));
    }

    [Test]
    public void UsePostgreSql_outside_Npgsql_fails_and_says_to_call_UseNpgsql()
    {
        var options = new DbContextOptionsBuilder<TestDbContext>()
            .UseEventSourcing(es => es.UsePostgreSql().AddEvents(typeof(TestDbContext).Assembly))
            .Options;
        var ex = Assert.Throws<InvalidOperationException>(() =>
        {
            using var db = new TestDbContext(options);
            db.Events();
        });
        Assert.That(ex!.Message, Does.Contain("UseNpgsql"));
    }
}
