using System.Data.Common;
using EventSourcing.EFCore.Testing.Internal;
using Microsoft.EntityFrameworkCore;
using Respawn;
using Respawn.Graph;

namespace EventSourcing.EFCore.Testing;

/// <summary>
/// A PostgreSQL database for tests: <see cref="InitializeAsync"/> creates the context's schema (its migrations, or the
/// model when it has none) once, and <see cref="ResetAsync"/> empties every table of the model's schemas between tests
/// with Respawn: the event store's tables and your own, keeping <c>__EFMigrationsHistory</c> and
/// <see cref="TablesToKeep"/>. It does not depend on a test framework; with NUnit call <see cref="InitializeAsync"/>
/// from <c>[OneTimeSetUp]</c> and <see cref="ResetAsync"/> from <c>[SetUp]</c>.
/// </summary>
/// <typeparam name="TContext">The application's DbContext, configured with <c>UseNpgsql</c> and <c>UseEventSourcing</c>.</typeparam>
public sealed class PostgreSqlTestDatabase<TContext>
    where TContext : DbContext
{
    private const string NpgsqlProvider = "Npgsql.EntityFrameworkCore.PostgreSQL";
    private const string MigrationsHistoryTable = "__EFMigrationsHistory";

    private readonly Func<TContext> _createContext;
    private Respawner? _respawner;

    /// <summary>Initializes a new instance of the <see cref="PostgreSqlTestDatabase{TContext}"/> class.</summary>
    /// <param name="createContext">Creates a context on the test database (each call a new instance; the caller of <see cref="CreateContext"/> disposes it).</param>
    /// <exception cref="ArgumentNullException"><paramref name="createContext"/> is null.</exception>
    public PostgreSqlTestDatabase(Func<TContext> createContext)
    {
        ArgumentNullException.ThrowIfNull(createContext);
        _createContext = createContext;
    }

    /// <summary>
    /// Gets a value indicating whether <see cref="InitializeAsync"/> creates the schema: applies the context's migrations
    /// (<c>MigrateAsync</c>) when it has any, else <c>EnsureCreatedAsync</c>. Default true; false when the database is
    /// prepared some other way.
    /// </summary>
    public bool CreateSchema { get; init; } = true;

    /// <summary>Gets the tables whose rows survive <see cref="ResetAsync"/> (reference data), by table name.</summary>
    public IList<string> TablesToKeep { get; init; } = [];

    /// <summary>Creates a context on the test database.</summary>
    /// <returns>A new context; dispose it.</returns>
    public TContext CreateContext() => _createContext();

    /// <summary>Creates the schema (unless <see cref="CreateSchema"/> is false) and learns the tables to empty. Call it once, before the first test.</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task that completes when the database is ready.</returns>
    /// <exception cref="InvalidOperationException">The context is not configured with <c>UseNpgsql</c>.</exception>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            if (context.Database.ProviderName != NpgsqlProvider)
            {
                throw new InvalidOperationException(SpecificationMessages.NotPostgreSql(context.Database.ProviderName));
            }

            if (CreateSchema)
            {
                if (context.Database.GetMigrations().Any())
                {
                    await context.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await context.Database.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            var schemas = context.Model.GetEntityTypes()
                .Select(e => e.GetSchema() ?? context.Model.GetDefaultSchema() ?? "public")
                .Distinct(StringComparer.Ordinal)
                .ToArray();
            var keep = TablesToKeep.Append(MigrationsHistoryTable).Select(t => new Table(t)).ToArray();
            var connection = context.Database.GetDbConnection();
            await context.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                _respawner = await Respawner.CreateAsync(connection, new RespawnerOptions
                {
                    DbAdapter = DbAdapter.Postgres,
                    SchemasToInclude = schemas,
                    TablesToIgnore = keep,
                }).ConfigureAwait(false);
            }
            finally
            {
                await context.Database.CloseConnectionAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Deletes every row of the model's tables except the kept ones (call it before each test).</summary>
    /// <param name="cancellationToken">Cancels the work (before the reset starts).</param>
    /// <returns>A task that completes when the tables are empty.</returns>
    /// <exception cref="InvalidOperationException"><see cref="InitializeAsync"/> was not called.</exception>
    public async Task ResetAsync(CancellationToken cancellationToken = default)
    {
        var respawner = _respawner ?? throw new InvalidOperationException(SpecificationMessages.NotInitialized);
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            await context.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                DbConnection connection = context.Database.GetDbConnection();
                await respawner.ResetAsync(connection).ConfigureAwait(false);
            }
            finally
            {
                await context.Database.CloseConnectionAsync().ConfigureAwait(false);
            }
        }
    }
}
