using System.Text.Json.Serialization;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>An event with a System.Text.Json polymorphic member (the type discriminator is not the first key after jsonb).</summary>
[EventType("test.paid")]
public sealed record Paid(decimal Amount, PaymentMethod Method);

/// <summary>A polymorphic payment method: short property names sort before <c>$type</c> in jsonb's key order.</summary>
[JsonPolymorphic]
[JsonDerivedType(typeof(Card), "card")]
[JsonDerivedType(typeof(BankTransfer), "transfer")]
public abstract record PaymentMethod;

public sealed record Card(string Pan, int Exp) : PaymentMethod;

public sealed record BankTransfer(string Iban) : PaymentMethod;

/// <summary>An event whose constructor rejects some stored payloads with an exception that is not a JsonException.</summary>
[EventType("test.guarded")]
public sealed record Guarded(int Value)
{
    public int Value { get; } = Value >= 0 ? Value : throw new ArgumentOutOfRangeException(nameof(Value), Value, "negative");
}

/// <summary>An aggregate whose state holds polymorphic values, so its snapshots carry <c>$type</c> discriminators.</summary>
[AggregateType("wallet")]
public sealed class Wallet : AggregateRoot<Guid>
{
    private readonly List<PaymentMethod> _methods = [];

    [NonSerialized]
    private int _appliedSinceLoad;

    private Wallet()
    {
    }

    public decimal Paid { get; private set; }

    public IReadOnlyList<PaymentMethod> Methods => _methods;

    /// <summary>Gets how many events this instance applied itself (not restored from a snapshot).</summary>
    public int AppliedSinceLoad => _appliedSinceLoad;

    public static Wallet Open(Guid id)
    {
        var wallet = new Wallet();
        wallet.Raise(new WalletOpened(id));
        return wallet;
    }

    public void Pay(decimal amount, PaymentMethod method) => Raise(new Paid(amount, method));

    private void Apply(WalletOpened e)
    {
        Id = e.WalletId;
        _appliedSinceLoad++;
    }

    private void Apply(Paid e)
    {
        _appliedSinceLoad++;
        Paid += e.Amount;
        _methods.Add(e.Method);
    }
}

[EventType("test.wallet-opened")]
public sealed record WalletOpened(Guid WalletId);

[EventType("test.item-added")]
public sealed record ItemAdded(string Name, int Qty, decimal Price);

/// <summary>
/// An aggregate whose state System.Text.Json cannot snapshot with the default options: a value tuple's members are
/// fields, which it does not write (<c>{"apple": {}}</c>).
/// </summary>
[AggregateType("basket")]
public sealed class Basket : AggregateRoot<Guid>
{
    private readonly Dictionary<string, (int Qty, decimal Price)> _lines = new(StringComparer.Ordinal);

    public decimal Total => _lines.Values.Sum(l => l.Qty * l.Price);

    public void Add(string name, int qty, decimal price) => Raise(new ItemAdded(name, qty, price));

    public static Basket Create(Guid id)
    {
        var basket = new Basket();
        basket.Raise(new BasketCreated(id));
        return basket;
    }

    private void Apply(BasketCreated e) => Id = e.BasketId;

    private void Apply(ItemAdded e) => _lines[e.Name] = (e.Qty, e.Price);
}

/// <summary>The same state as <see cref="Basket"/> under another type, used by one test only (refusals are logged once per type).</summary>
[AggregateType("basket-logged")]
public sealed class LoggedBasket : AggregateRoot<Guid>
{
    private readonly Dictionary<string, (int Qty, decimal Price)> _lines = new(StringComparer.Ordinal);

    public decimal Total => _lines.Values.Sum(l => l.Qty * l.Price);

    public void Add(string name, int qty, decimal price) => Raise(new ItemAdded(name, qty, price));

    public static LoggedBasket Create(Guid id)
    {
        var basket = new LoggedBasket();
        basket.Raise(new BasketCreated(id));
        return basket;
    }

    private void Apply(BasketCreated e) => Id = e.BasketId;

    private void Apply(ItemAdded e) => _lines[e.Name] = (e.Qty, e.Price);
}

[EventType("test.basket-created")]
public sealed record BasketCreated(Guid BasketId);
