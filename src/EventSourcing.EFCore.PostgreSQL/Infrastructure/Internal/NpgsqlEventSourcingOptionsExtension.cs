using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Infrastructure;
using EventSourcing.EFCore.OutboxInternal;
using EventSourcing.EFCore.PostgreSQL.Diagnostics.Internal;
using EventSourcing.EFCore.Projections.Internal;
using EventSourcing.EFCore.PostgreSQL.OutboxInternal;
using EventSourcing.EFCore.PostgreSQL.ProviderInternals;
using EventSourcing.EFCore.PostgreSQL.Projections.Internal;
using EventSourcing.EFCore.PostgreSQL.Storage.Internal;
using EventSourcing.EFCore.PostgreSQL.Streams.Internal;
using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata.Conventions.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Update;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;

namespace EventSourcing.EFCore.PostgreSQL.Infrastructure.Internal;

/// <summary>
/// The options extension of <c>UsePostgreSql()</c>: replaces the in-process backend with the PostgreSQL one and adds
/// the model convention, annotation provider and migrations SQL generator that create the xid8 column and stream guard.
/// </summary>
internal sealed class NpgsqlEventSourcingOptionsExtension : IDbContextOptionsExtension, IEventStoreBackendExtension
{
    private DbContextOptionsExtensionInfo? _info;

    public NpgsqlEventSourcingOptionsExtension()
    {
    }

    private NpgsqlEventSourcingOptionsExtension(NpgsqlEventSourcingOptionsExtension copy) => ExplicitPreparation = copy.ExplicitPreparation;

    /// <summary>
    /// Gets a value indicating whether the library prepares its fixed-text commands explicitly (<c>Prepare()</c>). Off,
    /// Npgsql's automatic preparation (<c>Max Auto Prepare</c>) applies instead. Never done on a multiplexing connection.
    /// </summary>
    public bool ExplicitPreparation { get; private init; } = true;

    public NpgsqlEventSourcingOptionsExtension WithExplicitPreparation(bool prepare) => new(this) { ExplicitPreparation = prepare };

    public DbContextOptionsExtensionInfo Info => _info ??= new ExtensionInfo(this);

    public void ApplyServices(IServiceCollection services)
    {
        // Replace, not TryAdd: the core extension and Npgsql may have registered their defaults first.
        services.Replace(ServiceDescriptor.Singleton<IEventStoreBackend, NpgsqlEventStoreBackend>());
        services.Replace(ServiceDescriptor.Singleton<IRelationalAnnotationProvider, NpgsqlEventStoreAnnotationProvider>());
        services.Replace(ServiceDescriptor.Scoped<IMigrationsSqlGenerator, NpgsqlEventStoreMigrationsSqlGenerator>());
        services.Replace(ServiceDescriptor.Singleton<IMigrationsAnnotationProvider, NpgsqlEventStoreMigrationsAnnotationProvider>());
        services.AddSingleton<IConventionSetPlugin, NpgsqlEventStoreConventionSetPlugin>();
        services.Replace(ServiceDescriptor.Singleton<IOutboxBackend, NpgsqlOutboxBackend>());
        services.Replace(ServiceDescriptor.Singleton<IProjectionBackend, NpgsqlProjectionBackend>());
        services.Replace(ServiceDescriptor.Scoped<IModificationCommandBatchFactory, NpgsqlEventStoreBatchFactory>());
        services.AddSingleton<IInterceptor, NpgsqlPreparingInterceptor>();
    }

    public void Validate(IDbContextOptions options)
    {
        if (!NpgsqlProviderOptions.IsNpgsql(options))
        {
            throw new InvalidOperationException(NpgsqlMessages.UsePostgreSqlWithoutNpgsql);
        }

        if (options.FindExtension<EventSourcingOptionsExtension>() is null)
        {
            throw new InvalidOperationException(NpgsqlMessages.UsePostgreSqlWithoutEventSourcing);
        }

        // EF applies a user's ReplaceService after every extension's ApplyServices, so a replacement of a service this
        // package replaces would silently drop the stream guard or the event batch: fail instead, naming both.
        if (options.FindExtension<CoreOptionsExtension>()?.ReplacedServices is { } replaced)
        {
            foreach (var ((service, _), implementation) in replaced)
            {
                if (Array.IndexOf(ReplacedProviderServices, service) >= 0)
                {
                    throw new InvalidOperationException(NpgsqlMessages.ProviderServiceReplaced(service, implementation));
                }
            }
        }
    }

    /// <summary>The provider services this package replaces (see <see cref="ApplyServices"/>).</summary>
    internal static readonly Type[] ReplacedProviderServices =
    [
        typeof(IRelationalAnnotationProvider), typeof(IMigrationsSqlGenerator), typeof(IMigrationsAnnotationProvider), typeof(IModificationCommandBatchFactory),
    ];

    private sealed class ExtensionInfo(IDbContextOptionsExtension extension) : DbContextOptionsExtensionInfo(extension)
    {
        public override bool IsDatabaseProvider => false;

        public override string LogFragment => "using EventSourcing.PostgreSql ";

        public override int GetServiceProviderHashCode() => 0;

        public override bool ShouldUseSameServiceProvider(DbContextOptionsExtensionInfo other) => other is ExtensionInfo;

        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo)
        {
            debugInfo["EventSourcing:PostgreSql"] = "1";
            debugInfo["EventSourcing:PostgreSql:ExplicitPreparation"] = ((NpgsqlEventSourcingOptionsExtension)Extension).ExplicitPreparation ? "1" : "0";
        }
    }
}
