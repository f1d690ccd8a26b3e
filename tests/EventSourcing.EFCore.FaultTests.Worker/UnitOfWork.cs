using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.FaultTests.Worker;

/// <summary>
/// One unit of work of the fault suite: moves an amount between two accounts (two aggregates, one event each), adds the
/// user's <see cref="Transfer"/> row, and saves once; the save also writes the inline read model, any snapshot due and
/// two outbox rows. Idempotent like a real command handler: a unit whose <see cref="Transfer"/> row exists is not redone.
/// </summary>
public static class UnitOfWork
{
    /// <summary>The two accounts and the amount of unit <paramref name="unit"/> (deterministic, so a rerun issues the same command).</summary>
    public static (string From, string To, decimal Amount) Plan(long unit, int accounts)
    {
        var from = (int)(unit * 7919 % accounts);
        var to = (int)((from + 1 + (unit % (accounts - 1))) % accounts);
        return (AccountId(from), AccountId(to), 1 + (unit % 97));
    }

    /// <summary>The id of account number <paramref name="index"/>.</summary>
    public static string AccountId(int index) => "acc-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Runs unit <paramref name="unit"/> on <paramref name="db"/>; returns false when it was already done.</summary>
    public static async Task<bool> RunAsync(FaultDbContext db, long unit, int accounts, bool syncSave, CancellationToken cancellationToken)
    {
        if (await db.Transfers.AnyAsync(t => t.Unit == unit, cancellationToken))
        {
            return false;
        }

        var (from, to, amount) = Plan(unit, accounts);
        (await LoadOrOpenAsync(db, from, cancellationToken)).Move(unit, -amount);
        (await LoadOrOpenAsync(db, to, cancellationToken)).Move(unit, amount);
        db.Transfers.Add(new Transfer { Unit = unit, From = from, To = to, Amount = amount });
        if (syncSave)
        {
            db.SaveChanges();
        }
        else
        {
            await db.SaveChangesAsync(cancellationToken);
        }

        return true;
    }

    private static async Task<Account> LoadOrOpenAsync(FaultDbContext db, string id, CancellationToken cancellationToken)
    {
        var account = await db.Aggregates<Account>().FindAsync(id, cancellationToken);
        if (account is null)
        {
            account = Account.Open(id);
            db.Aggregates<Account>().Add(account);
        }

        return account;
    }
}
