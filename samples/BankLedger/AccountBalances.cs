using EventSourcing.EFCore;

namespace BankLedger;

/// <summary>A catch-up projection: one balance row per account, applied after commit from its checkpoint.</summary>
public sealed class AccountBalances : Projection<LedgerDbContext>
{
    public AccountBalances()
        : base("account-balances")
    {
        On<AccountOpened>((db, e, envelope) => db.Balances.Add(new AccountBalance { AccountId = e.AccountId, Owner = e.Owner, Version = envelope.Version }));
        On<Deposited>((db, e, envelope) => Change(db, envelope, e.Amount));
        On<Withdrawn>((db, e, envelope) => Change(db, envelope, -e.Amount));
    }

    public override Task ResetAsync(LedgerDbContext db, CancellationToken cancellationToken)
    {
        db.Balances.RemoveRange(db.Balances);
        return Task.CompletedTask;
    }

    private static void Change(LedgerDbContext db, RecordedEvent envelope, decimal delta)
    {
        var row = db.Balances.Find(envelope.StreamId.Id)!;
        row.Balance += delta;
        row.Version = envelope.Version;
    }
}
