namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>Balances per stream from Deposited and Withdrawn, through synchronous handlers (usable in a sync SaveChanges).</summary>
public sealed class BalanceProjection : Projection<TestDbContext>
{
    public BalanceProjection()
        : this("balances")
    {
    }

    public BalanceProjection(string name)
        : base(name)
    {
        On<Deposited>((db, e, envelope) =>
        {
            var balance = Row(db, envelope);
            balance.Balance += e.Amount;
        });
        On<Withdrawn>((db, e, envelope) =>
        {
            var balance = Row(db, envelope);
            balance.Balance -= e.Amount;
        });
    }

    public override async Task ResetAsync(TestDbContext context, CancellationToken cancellationToken)
    {
        var rows = await context.Set<AccountBalance>().Where(b => b.Projection == Name).ToListAsync(cancellationToken);
        context.RemoveRange(rows);
    }

    private AccountBalance Row(TestDbContext db, RecordedEvent envelope)
    {
        var stream = envelope.StreamId.ToString();
        var row = db.Set<AccountBalance>().Find(Name, stream);
        if (row is null)
        {
            row = new AccountBalance { Projection = Name, Stream = stream };
            db.Add(row);
        }

        row.Version = envelope.Version;
        row.Operations++;
        return row;
    }
}

/// <summary>
/// Records every event it applies (handler on <see cref="object"/>, so every event type) in the ledger, and checks per
/// stream that versions arrive in order, through asynchronous handlers.
/// </summary>
public sealed class LedgerProjection : Projection<TestDbContext>
{
    public LedgerProjection()
        : this("ledger")
    {
    }

    public LedgerProjection(string name)
        : base(name)
    {
        On<object>(async (db, _, envelope, ct) =>
        {
            var stream = envelope.StreamId.ToString();
            db.Add(new LedgerRow
            {
                Projection = Name,
                Stream = stream,
                Version = envelope.Version,
                EventId = envelope.EventId,
                GlobalPosition = envelope.GlobalPosition,
            });
            var progress = await db.Set<StreamProgress>().FindAsync([Name, stream], ct);
            if (progress is null)
            {
                progress = new StreamProgress { Projection = Name, Stream = stream };
                db.Add(progress);
            }

            if (envelope.Version != progress.Version + 1)
            {
                progress.OrderViolations++;
            }

            progress.Version = envelope.Version;
        });
    }

    public override async Task ResetAsync(TestDbContext context, CancellationToken cancellationToken)
    {
        context.RemoveRange(await context.Set<LedgerRow>().Where(r => r.Projection == Name).ToListAsync(cancellationToken));
        context.RemoveRange(await context.Set<StreamProgress>().Where(p => p.Projection == Name).ToListAsync(cancellationToken));
    }
}

