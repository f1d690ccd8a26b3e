using System.Text.RegularExpressions;
using EventSourcing.EFCore.Reference;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design.Internal;
using Microsoft.EntityFrameworkCore.Migrations.Design;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// The design-time path, run in-process exactly as <c>dotnet ef migrations add</c> runs it (EF's design-time
/// services builder, the provider's design-time services, the migrations scaffolder against the reference project's
/// snapshot): configured as the application, the next migration is empty; a design-time context that lacks the
/// library's configuration fails, saying what to add, instead of scaffolding a destructive migration. No database is
/// contacted.
/// </summary>
public sealed class DesignTimeMigrationNpgsqlTest
{
    private const string ConnectionString = "Host=localhost;Database=eventsourcing_design_time;Username=postgres";

    [Test]
    public void Scaffolding_the_reference_context_configured_as_the_application_gives_an_empty_migration()
    {
        using var db = new ReferenceDbContextFactory().CreateDbContext([]);

        var migration = Scaffold(db);

        Assert.That(Body(migration.MigrationCode, "Up"), Is.Empty, "no operation: no drop of tx_id, the read-all index or the guard, no jsonb to text");
        Assert.That(Body(migration.MigrationCode, "Down"), Is.Empty);
    }

    [Test]
    public void Scaffolding_a_design_time_context_without_UsePostgreSql_fails_and_names_it()
    {
        // dotnet ef calls the design-time factory, which creates the context: the options are refused right there.
        var error = Assert.Throws<InvalidOperationException>(() =>
        {
            using var db = new ReferenceDbContext(new DbContextOptionsBuilder<ReferenceDbContext>()
                .UseNpgsql(ConnectionString)
                .UseEventSourcing(_ => { })
                .Options);
            Scaffold(db);
        })!;

        Assert.That(error.Message, Does.Contain("UseEventSourcing(es => es.UsePostgreSql())"));
    }

    [Test]
    public void Scaffolding_a_design_time_context_without_UseEventSourcing_fails_and_names_it()
    {
        using var db = new ReferenceDbContext(new DbContextOptionsBuilder<ReferenceDbContext>().UseNpgsql(ConnectionString).Options);

        var error = Assert.Throws<InvalidOperationException>(() => Scaffold(db))!;

        Assert.That(error.Message, Does.Contain("UseEventSourcing"));
    }

    private static ScaffoldedMigration Scaffold(DbContext db)
    {
        // EF1001: DesignTimeServicesBuilder and OperationReporter are what dotnet ef itself uses to build the
        // design-time services (provider design-time services included); there is no public equivalent.
#pragma warning disable EF1001
        var assembly = typeof(ReferenceDbContext).Assembly;
        var services = new DesignTimeServicesBuilder(assembly, assembly, new OperationReporter(handler: null), [])
            .Build(db);
#pragma warning restore EF1001
        using var scope = services.CreateScope();
        return scope.ServiceProvider.GetRequiredService<IMigrationsScaffolder>()
            .ScaffoldMigration("DesignTimeCheck", "EventSourcing.EFCore.Reference", subNamespace: "Migrations", language: "C#");
    }

    /// <summary>The statements of the generated migration's Up or Down method.</summary>
    private static string Body(string code, string method)
    {
        var match = Regex.Match(code, @"protected override void " + method + @"\(MigrationBuilder migrationBuilder\)\s*\{(?<body>.*?)\n        \}", RegexOptions.Singleline);
        Assert.That(match.Success, Is.True, code);
        return match.Groups["body"].Value.Trim();
    }
}
