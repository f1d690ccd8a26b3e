using System.Collections.Immutable;
using System.Reflection;
using System.Text.Json;
using EventSourcing.EFCore.Internal;
using EventSourcing.EFCore.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EventSourcing.EFCore.Infrastructure;

/// <summary>
/// The options of <c>UseEventSourcing</c>: immutable, changed clone-on-write by <see cref="EventSourcingDbContextOptionsBuilder"/>.
/// It registers the SaveChanges interceptor and the per-context event store services in EF's internal service provider.
/// </summary>
internal sealed class EventSourcingOptionsExtension : IDbContextOptionsExtension
{
    public const int DefaultMaxEventSize = 1024 * 1024;

    private DbContextOptionsExtensionInfo? _info;
    private EventTypeRegistry? _registry;
    private EventSerializer? _serializer;

    public EventSourcingOptionsExtension()
    {
    }

    private EventSourcingOptionsExtension(EventSourcingOptionsExtension copyFrom)
    {
        EventAssemblies = copyFrom.EventAssemblies;
        EventMappings = copyFrom.EventMappings;
        MaxEventSize = copyFrom.MaxEventSize;
        SerializerOptions = copyFrom.SerializerOptions;
        TimeProvider = copyFrom.TimeProvider;
        Outbox = copyFrom.Outbox;
    }

    public ImmutableArray<Assembly> EventAssemblies { get; private set; } = [];

    public ImmutableArray<EventTypeMapping> EventMappings { get; private set; } = [];

    public int MaxEventSize { get; private set; } = DefaultMaxEventSize;

    public JsonSerializerOptions? SerializerOptions { get; private set; }

    public TimeProvider TimeProvider { get; private set; } = TimeProvider.System;

    public DbContextOptionsExtensionInfo Info => _info ??= new ExtensionInfo(this);

    /// <summary>Gets the event type registry, built (and validated) on first use.</summary>
    public EventTypeRegistry Registry => _registry ??= BuildRegistry();

    private EventTypeRegistry BuildRegistry()
    {
        var registry = EventTypeRegistry.Build(EventAssemblies, EventMappings);
        Aggregates.AggregateTypeName.ValidateAll(EventAssemblies);
        return registry;
    }

    public EventSerializer Serializer
        => _serializer ??= new EventSerializer(SerializerOptions ?? new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public EventSourcingOptionsExtension WithEventAssembly(Assembly assembly)
        => EventAssemblies.Contains(assembly) ? this : new(this) { EventAssemblies = EventAssemblies.Add(assembly) };

    public EventSourcingOptionsExtension WithEventMapping(EventTypeMapping mapping)
    {
        EventTypeRegistry.Validate(mapping);
        return new(this) { EventMappings = EventMappings.Add(mapping) };
    }

    public EventSourcingOptionsExtension WithMaxEventSize(int bytes) => new(this) { MaxEventSize = bytes };

    public EventSourcingOptionsExtension WithSerializerOptions(JsonSerializerOptions options) => new(this) { SerializerOptions = options };

    public EventSourcingOptionsExtension WithTimeProvider(TimeProvider timeProvider) => new(this) { TimeProvider = timeProvider };

    public void ApplyServices(IServiceCollection services)
    {
        services.TryAddSingleton<IEventStoreBackend, InMemoryEventStoreBackend>();
        services.TryAddScoped<EventStoreSession>();
        services.AddScoped<IResettableService>(p => p.GetRequiredService<EventStoreSession>());
        services.TryAddScoped<AppendWriter>();
        services.TryAddScoped<EventReader>();
        services.TryAddScoped(p => new EventStore(p.GetRequiredService<ICurrentDbContext>().Context, p.GetRequiredService<EventStoreSession>(), p.GetRequiredService<EventReader>()));
        services.AddSingleton<IInterceptor, EventSourcingSaveChangesInterceptor>();
        services.TryAddSingleton<IOutboxBackend, InMemoryOutboxBackend>();
    }

    public void Validate(IDbContextOptions options)
    {
        _ = Registry;
        if (MaxEventSize < 1)
        {
            throw new InvalidOperationException(Messages.MaxEventSizeInvalid(MaxEventSize));
        }

        var relational = options.Extensions.Any(e => e.Info.IsDatabaseProvider && e is Microsoft.EntityFrameworkCore.Infrastructure.RelationalOptionsExtension);
        var backend = options.Extensions.OfType<IEventStoreBackendExtension>().FirstOrDefault();
        if (relational && backend is null)
        {
            throw new InvalidOperationException(Messages.RelationalProviderNeedsBackend);
        }
    }

    private sealed class ExtensionInfo(EventSourcingOptionsExtension extension) : DbContextOptionsExtensionInfo(extension)
    {
        private new EventSourcingOptionsExtension Extension => (EventSourcingOptionsExtension)base.Extension;

        public override bool IsDatabaseProvider => false;

        public override string LogFragment => "using EventSourcing ";

        // No option changes which services are registered: options are read per context from IDbContextOptions.
        public override int GetServiceProviderHashCode() => 0;

        public override bool ShouldUseSameServiceProvider(DbContextOptionsExtensionInfo other) => other is ExtensionInfo;

        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo)
        {
            debugInfo["EventSourcing:EventTypes"] = Extension.EventMappings.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)
                + "+" + Extension.EventAssemblies.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            debugInfo["EventSourcing:MaxEventSize"] = Extension.MaxEventSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
            debugInfo["EventSourcing:OutboxRoutes"] = (Extension.Outbox?.Routes.Length ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// Gets the outbox configuration, or null when <c>UseOutbox</c> was not called. Like the other options it is read per
    /// context from <c>IDbContextOptions</c> and registers no service, so it is not part of the service provider hash.
    /// </summary>
    public OutboxSettings? Outbox { get; private set; }

    public EventSourcingOptionsExtension WithOutbox(OutboxSettings outbox) => new(this) { Outbox = outbox };
}
