using EventSourcing.EFCore.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

/// <summary>
/// The registry and serializers are built once per distinct configuration, not once per options instance:
/// <c>AddDbContext</c> builds new options per scope, as a web application does per request.
/// </summary>
public class SharedServicesTests
{
    [Test]
    public void A_thousand_scopes_of_AddDbContext_build_the_registry_once()
    {
        var services = new ServiceCollection();
        var database = Guid.NewGuid().ToString();
        services.AddDbContext<UnitDbContext>(o => o
            .UseInMemoryDatabase(database)
            .UseEventSourcing(es => es.AddEvents(typeof(UnitPlaced).Assembly).MapEvent<SharedServicesOnly>("unit.shared-services-only")));
        using var provider = services.BuildServiceProvider();

        var extensions = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var registries = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var serializers = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var before = SharedEventStoreServices.RegistryBuilds;
        for (var i = 0; i < 1000; i++)
        {
            using var scope = provider.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<UnitDbContext>();
            _ = db.Events();
            var extension = db.GetService<IDbContextOptions>().FindExtension<EventSourcingOptionsExtension>()!;
            extensions.Add(extension);
            registries.Add(extension.Registry);
            serializers.Add(extension.Serializer);
        }

        var builds = SharedEventStoreServices.RegistryBuilds - before;
        TestContext.Out.WriteLine($"1,000 scopes: {extensions.Count} options instances, {builds} registry builds, {registries.Count} registries, {serializers.Count} serializers");
        Assert.Multiple(() =>
        {
            Assert.That(extensions, Has.Count.GreaterThan(1), "AddDbContext is expected to build options per scope; otherwise this test proves nothing");
            Assert.That(builds, Is.LessThanOrEqualTo(1));
            Assert.That(registries, Has.Count.EqualTo(1));
            Assert.That(serializers, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public void Different_event_configurations_get_different_registries()
    {
        var a = new EventSourcingOptionsExtension().WithEventMapping(new(typeof(SharedServicesOnly), "unit.shared-a", 1));
        var b = new EventSourcingOptionsExtension().WithEventMapping(new(typeof(SharedServicesOnly), "unit.shared-b", 1));
        var c = new EventSourcingOptionsExtension().WithEventMapping(new(typeof(SharedServicesOnly), "unit.shared-a", 1));
        Assert.Multiple(() =>
        {
            Assert.That(a.Registry, Is.Not.SameAs(b.Registry));
            Assert.That(a.Registry, Is.SameAs(c.Registry));
            Assert.That(b.Registry.GetByType(typeof(SharedServicesOnly)).Name, Is.EqualTo("unit.shared-b"));
        });
    }
}

public sealed record SharedServicesOnly(int Value);
