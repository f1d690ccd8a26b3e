using System.Collections.Immutable;
using System.Reflection;
using System.Text.Json;
using EventSourcing.EFCore.Aggregates.Internal;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.OutboxInternal;
using EventSourcing.EFCore.Projections.Internal;
using EventSourcing.EFCore.Serialization.Internal;
using EventSourcing.EFCore.Snapshots.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.EFCore.Infrastructure.Internal;

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
    private SnapshotSerializer? _snapshotSerializer;
    private EventUpcasting? _upcasting;

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
        RecordTraceContext = copyFrom.RecordTraceContext;
        DefaultSnapshotPolicy = copyFrom.DefaultSnapshotPolicy;
        SnapshotPolicies = copyFrom.SnapshotPolicies;
        UpcastingSettings = copyFrom.UpcastingSettings;

        Projections = copyFrom.Projections;

        Outbox = copyFrom.Outbox;
    }

    public ImmutableArray<Assembly> EventAssemblies { get; private set; } = [];

    public ImmutableArray<EventTypeMapping> EventMappings { get; private set; } = [];

    public int MaxEventSize { get; private set; } = DefaultMaxEventSize;

    public JsonSerializerOptions? SerializerOptions { get; private set; }

    public TimeProvider TimeProvider { get; private set; } = TimeProvider.System;

    /// <summary>Gets the snapshot policy of aggregate types without one of their own, or null for none.</summary>
    public SnapshotPolicy? DefaultSnapshotPolicy { get; private set; }

    /// <summary>Gets the snapshot policies set per aggregate type.</summary>
    public ImmutableDictionary<Type, SnapshotPolicy> SnapshotPolicies { get; private set; } = ImmutableDictionary<Type, SnapshotPolicy>.Empty;

    public DbContextOptionsExtensionInfo Info => _info ??= new ExtensionInfo(this);

    /// <summary>Gets the event type registry, built (and validated) on first use.</summary>
    public EventTypeRegistry Registry => _registry ??= SharedEventStoreServices.Registry(EventAssemblies, EventMappings);

    /// <summary>Gets the event serializer, shared by every options instance with the same serializer options.</summary>
    public EventSerializer Serializer => _serializer ??= SharedEventStoreServices.EventSerializer(SerializerOptions);

    /// <summary>Gets the upcasters, aliases, obsolete names and metadata key renames registered for reading older events.</summary>
    public UpcastingSettings UpcastingSettings { get; private set; } = UpcastingSettings.Empty;

    /// <summary>Gets the upcaster chains, built (and validated) on first use.</summary>
    public EventUpcasting Upcasting => _upcasting ??= EventUpcasting.Build(Registry, UpcastingSettings, Serializer.Options);

    public EventSourcingOptionsExtension WithUpcasting(Func<UpcastingSettings, UpcastingSettings> change) => new(this) { UpcastingSettings = change(UpcastingSettings) };

    public EventSourcingOptionsExtension WithEventAssembly(Assembly assembly)
        => EventAssemblies.Contains(assembly) ? this : new(this) { EventAssemblies = EventAssemblies.Add(assembly) };

    public EventSourcingOptionsExtension WithEventMapping(EventTypeMapping mapping)
    {
        EventTypeRegistry.Validate(mapping);
        return new(this) { EventMappings = EventMappings.Add(mapping) };
    }

    /// <summary>Gets the serializer of aggregate snapshots (built with the event serializer options).</summary>
    public SnapshotSerializer SnapshotSerializer => _snapshotSerializer ??= SharedEventStoreServices.SnapshotSerializer(SerializerOptions);

    /// <summary>Returns the snapshot policy of <paramref name="aggregateType"/>, or null when it takes no snapshots by policy.</summary>
    public SnapshotPolicy? SnapshotPolicyFor(Type aggregateType)
        => SnapshotPolicies.TryGetValue(aggregateType, out var policy) ? policy : DefaultSnapshotPolicy;

    public EventSourcingOptionsExtension WithSnapshotPolicy(Type? aggregateType, SnapshotPolicy policy)
        => aggregateType is null
            ? new(this) { DefaultSnapshotPolicy = policy }
            : new(this) { SnapshotPolicies = SnapshotPolicies.SetItem(aggregateType, policy) };

    public EventSourcingOptionsExtension WithMaxEventSize(int bytes) => new(this) { MaxEventSize = bytes };

    public EventSourcingOptionsExtension WithSerializerOptions(JsonSerializerOptions options) => new(this) { SerializerOptions = options };

    public EventSourcingOptionsExtension WithTimeProvider(TimeProvider timeProvider) => new(this) { TimeProvider = timeProvider };

    /// <summary>Gets a value indicating whether appended events store the current W3C trace context in their metadata (default true).</summary>
    public bool RecordTraceContext { get; private set; } = true;

    public EventSourcingOptionsExtension WithRecordTraceContext(bool record) => new(this) { RecordTraceContext = record };

    public void ApplyServices(IServiceCollection services)
    {
        services.TryAddSingleton<IEventStoreBackend, InMemoryEventStoreBackend>();
        services.TryAddScoped<EventSourcingLoggers>();
        services.TryAddScoped(p => EventSourcingMetrics.For(p.GetRequiredService<IDbContextOptions>()));
        services.TryAddScoped<EventStoreSession>();
        services.AddScoped<IResettableService>(p => p.GetRequiredService<EventStoreSession>());
        services.TryAddScoped<AppendWriter>();
        services.TryAddScoped<SnapshotSaveParticipant>();
        services.TryAddScoped<OutboxStaging>();
        services.TryAddScoped<InlineProjectionSaveParticipant>();
        services.TryAddScoped<SaveParticipants>();
        services.TryAddScoped<EventReader>();
        services.TryAddScoped(p => new EventStore(p.GetRequiredService<ICurrentDbContext>().Context, p.GetRequiredService<EventStoreSession>(), p.GetRequiredService<EventReader>()));
        services.AddSingleton<IInterceptor, EventSourcingSaveChangesInterceptor>();
        services.AddScoped<IInterceptors, EventSourcingInterceptors>(); // the library's SaveChanges interceptor runs last
        services.TryAddSingleton<IOutboxBackend, InMemoryOutboxBackend>();
        services.AddSingleton<Microsoft.EntityFrameworkCore.Metadata.Conventions.Infrastructure.IConventionSetPlugin, Storage.Internal.EventSourcingConventionSetPlugin>();
        services.TryAddSingleton<IProjectionBackend, InMemoryProjectionBackend>();
    }

    /// <summary>
    /// Builds the registry and checks the event types' contracts (<see cref="EventContracts"/>): a name clash or an event
    /// type that cannot round-trip throws <see cref="InvalidOperationException"/>. Called when the options are configured
    /// and again when EF validates them.
    /// </summary>
    public void ValidateEventTypes() => EventContracts.Validate(Registry, Serializer.Options);

    public void Validate(IDbContextOptions options)
    {
        ValidateEventTypes();
        _ = Upcasting;
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

    /// <summary>Gets the registered projections, catch-up and inline, in registration order.</summary>
    public ImmutableArray<ProjectionRegistration> Projections { get; private set; } = [];

    public EventSourcingOptionsExtension WithProjection(Projection projection, bool inline)
    {
        if (Projections.Any(p => string.Equals(p.Projection.Name, projection.Name, StringComparison.Ordinal)))
        {
            throw new InvalidOperationException(Messages.ProjectionNameTaken(projection.Name));
        }

        return new(this) { Projections = Projections.Add(new ProjectionRegistration(projection, inline)) };
    }

    /// <summary>Returns the catch-up projection named <paramref name="name"/>, or throws saying how to register it.</summary>
    public Projection GetCatchUpProjection(string name)
    {
        var registration = Projections.FirstOrDefault(p => string.Equals(p.Projection.Name, name, StringComparison.Ordinal));
        return registration switch
        {
            null => throw new InvalidOperationException(Messages.ProjectionNotRegistered(name)),
            { IsInline: true } => throw new InvalidOperationException(Messages.ProjectionIsInline(name)),
            _ => registration.Projection,
        };
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
