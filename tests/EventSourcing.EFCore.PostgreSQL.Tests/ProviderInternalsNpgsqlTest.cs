using EventSourcing.EFCore.PostgreSQL.ProviderInternals;
using EventSourcing.EFCore.Specification.Tests;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Internal;
using Microsoft.EntityFrameworkCore.Update;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Update.Internal;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// Guards every EF Core / Npgsql internal API the PostgreSQL package relies on (all of them live in
/// <c>src/EventSourcing.EFCore.PostgreSQL/ProviderInternals/</c>). When an upgrade of EF Core or Npgsql changes one of
/// them, a test here fails and its message names the file to revisit. The behaviour the replaced services produce is
/// guarded by <see cref="EventBatchNpgsqlTest"/> (one-statement event batch), the migration tests (stream guard,
/// read-all index) and the whole PostgreSQL suite.
/// </summary>
public sealed class ProviderInternalsNpgsqlTest
{
    private const string Revisit = "An EF Core or Npgsql upgrade changed an internal API that ProviderInternals/{0} relies on; revisit that file.";

#pragma warning disable EF1001 // the point of this class: check the internal types we build on are still what we expect
    [TestCase(typeof(NpgsqlEventStoreCommandBatch), typeof(NpgsqlModificationCommandBatch))]
    [TestCase(typeof(NpgsqlEventStoreAnnotationProvider), typeof(NpgsqlAnnotationProvider))]
    [TestCase(typeof(NpgsqlEventStoreMigrationsSqlGenerator), typeof(NpgsqlMigrationsSqlGenerator))]
    [TestCase(typeof(NpgsqlEventStoreMigrationsAnnotationProvider), typeof(MigrationsAnnotationProvider))]
#pragma warning restore EF1001
    public void Our_provider_services_still_derive_from_the_provider_types_they_extend(Type ours, Type expectedBase)
        => Assert.That(ours.BaseType, Is.EqualTo(expectedBase), string.Format(System.Globalization.CultureInfo.InvariantCulture, Revisit, ours.Name + ".cs"));

    [Test]
    public void A_context_with_UsePostgreSql_resolves_the_package_services_EF_would_otherwise_use()
    {
        using var db = CreateContext(_ => { });
        Assert.Multiple(() =>
        {
            Assert.That(db.GetService<IModificationCommandBatchFactory>(), Is.TypeOf<NpgsqlEventStoreBatchFactory>(), Message(nameof(NpgsqlEventStoreBatchFactory)));
            Assert.That(db.GetService<IModificationCommandBatchFactory>().Create(), Is.TypeOf<NpgsqlEventStoreCommandBatch>(), Message(nameof(NpgsqlEventStoreCommandBatch)));
            Assert.That(db.GetService<IRelationalAnnotationProvider>(), Is.TypeOf<NpgsqlEventStoreAnnotationProvider>(), Message(nameof(NpgsqlEventStoreAnnotationProvider)));
            Assert.That(db.GetService<IMigrationsSqlGenerator>(), Is.TypeOf<NpgsqlEventStoreMigrationsSqlGenerator>(), Message(nameof(NpgsqlEventStoreMigrationsSqlGenerator)));
            Assert.That(db.GetService<IMigrationsAnnotationProvider>(), Is.TypeOf<NpgsqlEventStoreMigrationsAnnotationProvider>(), Message(nameof(NpgsqlEventStoreMigrationsAnnotationProvider)));
        });
    }

    [Test]
    public void Npgsql_options_are_recognised_and_MaxBatchSize_is_read_as_Npgsql_reads_it()
    {
        var npgsql = new DbContextOptionsBuilder<TestDbContext>().UseNpgsql("Host=127.0.0.1;Database=unused", o => o.MaxBatchSize(7)).Options;
        var defaults = new DbContextOptionsBuilder<TestDbContext>().UseNpgsql("Host=127.0.0.1;Database=unused").Options;
        var noProvider = new DbContextOptionsBuilder<TestDbContext>().Options;
        Assert.Multiple(() =>
        {
            Assert.That(NpgsqlProviderOptions.IsNpgsql(npgsql), Is.True, Message(nameof(NpgsqlProviderOptions)));
            Assert.That(NpgsqlProviderOptions.IsNpgsql(noProvider), Is.False, Message(nameof(NpgsqlProviderOptions)));
            Assert.That(NpgsqlProviderOptions.MaxBatchSize(npgsql), Is.EqualTo(7), Message(nameof(NpgsqlProviderOptions)));
            Assert.That(NpgsqlProviderOptions.MaxBatchSize(defaults), Is.EqualTo(NpgsqlProviderOptions.DefaultMaxBatchSize), Message(nameof(NpgsqlProviderOptions)));
        });
    }

    [Test]
    public void The_create_script_carries_the_stream_guard_that_the_replaced_migrations_generator_writes()
    {
        using var db = CreateContext(_ => { });
        var script = db.Database.GenerateCreateScript();
        Assert.That(script, Does.Contain("CREATE TRIGGER").IgnoreCase, Message(nameof(NpgsqlEventStoreMigrationsSqlGenerator)));
    }

    [Test]
    public void A_user_ReplaceService_of_a_service_the_package_replaces_fails_at_startup_naming_it()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
        {
            using var db = CreateContext(o => o.ReplaceService<IMigrationsSqlGenerator, UserMigrationsSqlGenerator>());
            db.Events();
        });
        Assert.That(ex!.Message, Does.Contain(nameof(IMigrationsSqlGenerator)).And.Contain(nameof(UserMigrationsSqlGenerator)));
    }

    [Test]
    public void A_user_ReplaceService_of_another_service_composes()
    {
        using var db = CreateContext(o => o.ReplaceService<IMigrationsIdGenerator, UserMigrationsIdGenerator>());
        Assert.That(db.GetService<IMigrationsIdGenerator>(), Is.TypeOf<UserMigrationsIdGenerator>());
        Assert.That(db.GetService<IMigrationsSqlGenerator>(), Is.TypeOf<NpgsqlEventStoreMigrationsSqlGenerator>());
    }

    private static string Message(string file) => string.Format(System.Globalization.CultureInfo.InvariantCulture, Revisit, file + ".cs");

    private static TestDbContext CreateContext(Action<DbContextOptionsBuilder<TestDbContext>> configure)
    {
        var builder = new DbContextOptionsBuilder<TestDbContext>()
            .UseNpgsql("Host=127.0.0.1;Database=unused")
            .UseEventSourcing(es => es.UsePostgreSql().AddEvents(typeof(TestDbContext).Assembly));
        configure(builder);
        return new TestDbContext(builder.Options);
    }

#pragma warning disable EF1001
    private sealed class UserMigrationsSqlGenerator(MigrationsSqlGeneratorDependencies dependencies, Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal.INpgsqlSingletonOptions options)
        : NpgsqlMigrationsSqlGenerator(dependencies, options);
#pragma warning restore EF1001

#pragma warning disable EF1001
    private sealed class UserMigrationsIdGenerator : MigrationsIdGenerator;
#pragma warning restore EF1001
}
