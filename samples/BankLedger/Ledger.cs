using EventSourcing.EFCore;

namespace BankLedger;

[EventType("account.opened")]
public sealed record AccountOpened(string AccountId, string Owner);

[EventType("account.deposited")]
public sealed record Deposited(decimal Amount, string Teller);

[EventType("account.withdrawn")]
public sealed record Withdrawn(decimal Amount, string Teller);

/// <summary>A bank account: its state is the fold of its events; it refuses to go overdrawn.</summary>
[AggregateType("account")]
public sealed class Account : AggregateRoot<string>
{
    public string Owner { get; private set; } = "";

    public decimal Balance { get; private set; }

    public int Operations { get; private set; }

    public static Account Open(string id, string owner, decimal firstDeposit)
    {
        var account = new Account();
        account.Raise(new AccountOpened(id, owner));
        account.Deposit(firstDeposit, "branch");
        return account;
    }

    public void Deposit(decimal amount, string teller) => Raise(new Deposited(amount, teller));

    /// <summary>Withdraws <paramref name="amount"/> unless that would overdraw the account.</summary>
    public bool TryWithdraw(decimal amount, string teller)
    {
        if (amount > Balance)
        {
            return false;
        }

        Raise(new Withdrawn(amount, teller));
        return true;
    }

    private void Apply(AccountOpened e) => (Id, Owner) = (e.AccountId, e.Owner);

    private void Apply(Deposited e) => (Balance, Operations) = (Balance + e.Amount, Operations + 1);

    private void Apply(Withdrawn e) => (Balance, Operations) = (Balance - e.Amount, Operations + 1);
}
