using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace EventSourcing.EFCore.FaultTests.Worker;

/// <summary>How every process of the fault suite configures <see cref="FaultDbContext"/>: the whole write → read → project → publish path.</summary>
public static class FaultStore
{
    /// <summary>The inline projection (the <c>account_views</c> table).</summary>
    public const string InlineProjection = "account-view";

    /// <summary>The two catch-up projections (rows in <c>projected_events</c>).</summary>
    public static readonly string[] CatchUpProjections = ["ledger-a", "ledger-b"];

    /// <summary>The outbox destination every event is routed to.</summary>
    public const string Destination = "bus";

    /// <summary>A snapshot is taken every time an account crosses a multiple of this many events.</summary>
    public const int SnapshotEvery = 5;

    /// <summary>The PostgreSQL <c>application_name</c> of the library's connections (what the connection killer targets).</summary>
    public const string ApplicationName = "es-fault-library";

    /// <summary>Returns <paramref name="connectionString"/> with the library's application name (and optional overrides).</summary>
    public static string LibraryConnectionString(string connectionString, Action<NpgsqlConnectionStringBuilder>? adjust = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = ApplicationName };
        adjust?.Invoke(builder);
        return builder.ConnectionString;
    }

    /// <summary>Configures the options: Npgsql, event sourcing with snapshots, one inline and two catch-up projections, and an outbox route.</summary>
    public static DbContextOptions<FaultDbContext> CreateOptions(
        string connectionString,
        Action<Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.NpgsqlDbContextOptionsBuilder>? npgsql = null,
        Action<EventSourcing.EFCore.Infrastructure.EventSourcingDbContextOptionsBuilder>? eventSourcing = null,
        Action<DbContextOptionsBuilder<FaultDbContext>>? configure = null)
    {
        var builder = new DbContextOptionsBuilder<FaultDbContext>();
        configure?.Invoke(builder);
        builder.UseNpgsql(connectionString, o => npgsql?.Invoke(o)).UseEventSourcing(es =>
        {
            eventSourcing?.Invoke(es);
            es.UsePostgreSql()
                .AddEvents(typeof(FaultDbContext).Assembly)
                .SnapshotEvery<Account>(SnapshotEvery)
                .AddInlineProjection<FaultDbContext>(InlineProjection, p => p.On<Moved>((db, e, envelope) =>
                {
                    var view = db.AccountViews.Find(e.Account);
                    if (view is null)
                    {
                        view = new AccountView { Account = e.Account };
                        db.AccountViews.Add(view);
                    }

                    view.Version = envelope.Version;
                    view.Events++;
                    view.Balance += e.Amount;
                }))
                .UseOutbox(o => o.PublishAll(Destination));
            foreach (var name in CatchUpProjections)
            {
                es.AddProjection<FaultDbContext>(name, p => p
                    .On<Moved>((db, _, envelope) => db.ProjectedEvents.Add(new ProjectedEvent
                    {
                        Projection = name,
                        EventId = envelope.EventId,
                        Stream = envelope.StreamId.ToString(),
                        Version = envelope.Version,
                    }))
                    .OnReset((db, ct) => db.ProjectedEvents.Where(r => r.Projection == name).ExecuteDeleteAsync(ct)));
            }
        });
        return builder.Options;
    }
}
