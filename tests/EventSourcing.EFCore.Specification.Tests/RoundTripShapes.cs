using System.Text;
using System.Text.Json.Serialization;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// An event whose shape varies from one instance to the next: a random tree of polymorphic nodes with nested records,
/// lists, dictionaries, value tuples, enums, nullables, decimals at their limits and unicode text. Mapped explicitly by
/// <see cref="RoundTripPropertyTestBase{TFixture}"/> only (its value tuples need IncludeFields).
/// </summary>
public sealed record ShapeEvent(
    ShapeNode Root, List<ShapeNode> Items, Dictionary<string, ShapeNode> ByKey, ShapeColour Colour, ShapeColour? MaybeColour,
    decimal Amount, decimal? MaybeAmount, string Text, long[] Numbers, double Ratio, (int Count, decimal Price) Pair);

public enum ShapeColour
{
    Red,
    Green,
    Blue,
}

[JsonPolymorphic]
[JsonDerivedType(typeof(ShapeLeaf), "leaf")]
[JsonDerivedType(typeof(ShapeBranch), "branch")]
public abstract record ShapeNode;

public sealed record ShapeLeaf(string Label, decimal Value, ShapeColour Colour, int? Maybe, DateTimeOffset At) : ShapeNode;

public sealed record ShapeBranch(string Name, List<ShapeNode> Children, Dictionary<string, decimal> Weights, (string Key, long Value) Tag) : ShapeNode;

[EventType("test.shape-holder-created")]
public sealed record ShapeHolderCreated(Guid HolderId);

/// <summary>An aggregate holding what <see cref="ShapeEvent"/>s carry, for snapshot + tail = full replay.</summary>
[AggregateType("shape-holder")]
public sealed class ShapeHolder : AggregateRoot<Guid>
{
    private readonly List<ShapeNode> _nodes = [];
    private readonly Dictionary<string, ShapeNode> _byKey = new(StringComparer.Ordinal);
    private (int Count, decimal Price) _last;
    private decimal _sum;

    public IReadOnlyList<ShapeNode> Nodes => _nodes;

    public IReadOnlyDictionary<string, ShapeNode> ByKey => _byKey;

    public (int Count, decimal Price) Last => _last;

    public decimal Sum => _sum;

    public static ShapeHolder Create(Guid id)
    {
        var holder = new ShapeHolder();
        holder.Raise(new ShapeHolderCreated(id));
        return holder;
    }

    public void Record(ShapeEvent e) => Raise(e);

    private void Apply(ShapeHolderCreated e) => Id = e.HolderId;

    private void Apply(ShapeEvent e)
    {
        _nodes.Add(e.Root);
        foreach (var (key, node) in e.ByKey)
        {
            _byKey[key] = node;
        }

        _last = e.Pair;
        _sum += e.Amount / 4m;
    }
}

/// <summary>Generates random <see cref="ShapeEvent"/>s from a seed.</summary>
public sealed class ShapeGenerator(int seed)
{
    private static readonly decimal[] Decimals = [decimal.MaxValue / 4m, decimal.MinValue / 4m, 0.0000000000000000000000000001m, 0m, -1.5m, 123456789.123456789m];

    private readonly Random _random = new(seed);

    public ShapeEvent Next()
        => new(
            Node(0),
            Enumerable.Range(0, _random.Next(4)).Select(_ => Node(1)).ToList(),
            Enumerable.Range(0, _random.Next(4)).ToDictionary(i => Text(6) + i, _ => Node(1)),
            Colour(),
            _random.Next(2) == 0 ? null : Colour(),
            Decimal(),
            _random.Next(2) == 0 ? null : Decimal(),
            Text(_random.Next(40)),
            Enumerable.Range(0, _random.Next(5)).Select(_ => _random.NextInt64(long.MinValue, long.MaxValue)).ToArray(),
            (_random.NextDouble() - 0.5) * Math.Pow(10, _random.Next(-300, 300)),
            (_random.Next(), Decimal()));

    private ShapeNode Node(int depth)
        => depth > 3 || _random.Next(3) == 0
            ? new ShapeLeaf(Text(_random.Next(12)), Decimal(), Colour(), _random.Next(2) == 0 ? null : _random.Next(int.MinValue, int.MaxValue),
                new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(_random.NextInt64(0, TimeSpan.TicksPerDay * 20000)).ToOffset(TimeSpan.FromMinutes(_random.Next(-12, 14) * 60)))
            : new ShapeBranch(
                Text(_random.Next(8)),
                Enumerable.Range(0, _random.Next(4)).Select(_ => Node(depth + 1)).ToList(),
                Enumerable.Range(0, _random.Next(3)).ToDictionary(i => Text(4) + i, _ => Decimal()),
                (Text(5), _random.NextInt64()));

    private ShapeColour Colour() => (ShapeColour)_random.Next(3);

    private decimal Decimal()
        => _random.Next(3) == 0
            ? Decimals[_random.Next(Decimals.Length)]
            : new decimal(_random.Next(), _random.Next(), _random.Next(), _random.Next(2) == 0, (byte)_random.Next(29));

    /// <summary>Random unicode text: any scalar value but NUL (which PostgreSQL text and jsonb cannot hold).</summary>
    private string Text(int length)
    {
        var text = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            var codePoint = _random.Next(4) switch
            {
                0 => _random.Next(1, 0x80),
                1 => _random.Next(0x80, 0xD800),
                2 => _random.Next(0xE000, 0x10000),
                _ => _random.Next(0x10000, 0x110000),
            };
            text.Append(char.ConvertFromUtf32(codePoint));
        }

        return text.ToString();
    }
}
