namespace EventSourcing.EFCore.Specification.Tests;

[EventType("test.account-opened")]
public sealed record AccountOpened(Guid AccountId, string Owner);

[EventType("test.ticket-opened")]
public sealed record TicketOpened(string Title);

[EventType("test.ticket-closed")]
public sealed record TicketClosed(string Reason);

/// <summary>An aggregate with Guid ids and convention Apply methods (private).</summary>
[AggregateType("bank-account")]
public sealed class BankAccount : AggregateRoot<Guid>
{
    private BankAccount()
    {
    }

    public string Owner { get; private set; } = "";

    public decimal Balance { get; private set; }

    public int Operations { get; private set; }

    public static BankAccount Open(Guid id, string owner)
    {
        var account = new BankAccount();
        account.Raise(new AccountOpened(id, owner));
        return account;
    }

    public void Deposit(decimal amount) => Raise(new Deposited(amount));

    public void DepositAt(decimal amount, DateTimeOffset timestamp) => Raise(new EventData(new Deposited(amount)) { Timestamp = timestamp });

    public void Withdraw(decimal amount)
    {
        if (amount > Balance)
        {
            throw new InvalidOperationException("Insufficient funds.");
        }

        Raise(new Withdrawn(amount, "withdrawal"));
    }

    public void Rename(string name) => Raise(new Renamed(name)); // no handler: raising must fail

    private void Apply(AccountOpened e)
    {
        Id = e.AccountId;
        Owner = e.Owner;
    }

    private void Apply(Deposited e)
    {
        Balance += e.Amount;
        Operations++;
    }

    private void Apply(Withdrawn e)
    {
        Balance -= e.Amount;
        Operations++;
    }
}

/// <summary>The same stream type read by an aggregate that skips events it has no handler for.</summary>
[AggregateType("bank-account")]
public sealed class LenientBankAccount : AggregateRoot<Guid>
{
    public decimal Balance { get; private set; }

    protected override bool IgnoreMissingHandlers => true;

    private void Apply(AccountOpened e) => Id = e.AccountId;

    private void Apply(Deposited e) => Balance += e.Amount;
}

/// <summary>An aggregate with string ids, handlers registered with On&lt;TEvent&gt;, and the class name as stream type.</summary>
public sealed class Nickname : AggregateRoot<string>
{
    public Nickname()
    {
        On<Renamed>(e => Name = e.Name);
        On<Blob>(e => Id = e.Text);
    }

    public string Name { get; private set; } = "";

    public static Nickname Create(string id, string name)
    {
        var n = new Nickname();
        n.Raise(new Blob(id));
        n.Raise(new Renamed(name));
        return n;
    }

    public void Rename(string name) => Raise(new Renamed(name));
}

/// <summary>A value-object id that round-trips through ToString and Parse.</summary>
public readonly record struct Sku(string Code, int Size) : IParsable<Sku>
{
    public override string ToString() => $"{Code}-{Size}";

    public static Sku Parse(string s, IFormatProvider? provider)
        => TryParse(s, provider, out var sku) ? sku : throw new FormatException(s);

    public static bool TryParse(string? s, IFormatProvider? provider, out Sku result)
    {
        var dash = s?.LastIndexOf('-') ?? -1;
        result = dash > 0 && int.TryParse(s![(dash + 1)..], out var size) ? new Sku(s[..dash], size) : default;
        return dash > 0;
    }
}

[EventType("test.stock-counted")]
public sealed record StockCounted(string Sku, int Count);

[AggregateType("stock")]
public sealed class Stock : AggregateRoot<Sku>
{
    public int Count { get; private set; }

    public static Stock Take(Sku sku, int count)
    {
        var s = new Stock();
        s.Raise(new StockCounted(sku.ToString(), count));
        return s;
    }

    private void Apply(StockCounted e)
    {
        Id = Sku.Parse(e.Sku, null);
        Count = e.Count;
    }
}

[EventType("test.counter-incremented")]
public sealed record CounterIncremented(long CounterId);

[AggregateType("counter")]
public sealed class Counter : AggregateRoot<long>
{
    public int Value { get; private set; }

    public static Counter Start(long id)
    {
        var c = new Counter();
        c.Increment(id);
        return c;
    }

    public void Increment(long id) => Raise(new CounterIncremented(id));

    private void Apply(CounterIncremented e)
    {
        Id = e.CounterId;
        Value++;
    }
}

/// <summary>An ordinary EF entity (state in its own table) that also records events.</summary>
public sealed class Ticket : IEventSourcedAggregate
{
    private readonly List<object> _pending = [];
    private long _version;

    public Guid Id { get; set; } = Guid.NewGuid();

    public string Title { get; set; } = "";

    public bool Closed { get; set; }

    public long Version => _version;

    public IReadOnlyList<object> PendingEvents => _pending;

    public StreamId StreamId => new("ticket", Id.ToString());

    public bool IsReadOnly => false;

    public static Ticket Open(string title)
    {
        var t = new Ticket { Title = title };
        t._pending.Add(new TicketOpened(title));
        return t;
    }

    public void Close(string reason)
    {
        Closed = true;
        _pending.Add(new TicketClosed(reason));
    }

    public void OnEventsSaved(long version)
    {
        _pending.Clear();
        _version = version;
    }
}
