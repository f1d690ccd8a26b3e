using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using EventSourcing.EFCore.Infrastructure;

namespace EventSourcing.EFCore.Specification.Tests;

// Event types of three "releases" of a parcel service. None carries [EventType]: every suite scans this assembly, and
// each release maps its own set explicitly (ParcelReleases), as the application of that release would.

/// <summary>Release 1: the address field was "Addr", the weight in grams was "Weight".</summary>
public sealed record ParcelShippedV1(Guid ParcelId, string Addr, int Weight);

/// <summary>Release 2: fields renamed (typed upcaster from V1).</summary>
public sealed record ParcelShippedV2(Guid ParcelId, string Address, int WeightGrams);

/// <summary>Release 3 (current): weight in kilograms (type change) and a carrier (new field), by a JSON upcaster from V2.</summary>
public sealed record ParcelShipped(Guid ParcelId, string Address, decimal WeightKg, string Carrier);

/// <summary>Stored by release 1 under the misspelled name "upcast.parcel-labeled", renamed in release 3 (alias).</summary>
public sealed record ParcelLabelled(Guid ParcelId, string Label);

/// <summary>Release 1 only: retired in release 3 and declared obsolete.</summary>
public sealed record ParcelWeighed(Guid ParcelId, int Grams);

/// <summary>An event whose fields are whatever its JSON holds: the property test's current type of every random schema.</summary>
public sealed class FieldBag
{
    [JsonExtensionData]
    public Dictionary<string, JsonElement> Fields { get; set; } = [];
}

/// <summary>The options of each release of the parcel service.</summary>
public static class ParcelReleases
{
    public const string Shipped = "upcast.parcel-shipped";
    public const string LabelledOld = "upcast.parcel-labeled";
    public const string Labelled = "upcast.parcel-labelled";
    public const string Weighed = "upcast.parcel-weighed";

    public static void Release1(EventSourcingDbContextOptionsBuilder es)
        => es.MapEvent<ParcelShippedV1>(Shipped, 1).MapEvent<ParcelLabelled>(LabelledOld).MapEvent<ParcelWeighed>(Weighed);

    public static void Release2(EventSourcingDbContextOptionsBuilder es)
        => es.MapEvent<ParcelShippedV1>(Shipped, 1)
            .MapEvent<ParcelShippedV2>(Shipped, 2)
            .Upcast<ParcelShippedV1, ParcelShippedV2>(UpcastV1)
            .MapEvent<ParcelLabelled>(LabelledOld)
            .MapEvent<ParcelWeighed>(Weighed);

    /// <summary>The current release: a chain of three versions (typed 1 → 2, JSON 2 → 3), an alias, an obsolete type, a renamed metadata key.</summary>
    public static void Release3(EventSourcingDbContextOptionsBuilder es) => Release3With(es, UpcastV2);

    public static void Release3With(EventSourcingDbContextOptionsBuilder es, Func<JsonNode, JsonNode> v2ToV3)
        => es.MapEvent<ParcelShippedV1>(Shipped, 1)
            .MapEvent<ParcelShippedV2>(Shipped, 2)
            .MapEvent<ParcelShipped>(Shipped, 3)
            .Upcast<ParcelShippedV1, ParcelShippedV2>(UpcastV1)
            .Upcast(Shipped, fromVersion: 2, toVersion: 3, v2ToV3)
            .MapEvent<ParcelLabelled>(Labelled, aliases: LabelledOld)
            .DeclareObsolete(Weighed)
            .RenameMetadataKey("corr", "correlation-id");

    public static ParcelShippedV2 UpcastV1(ParcelShippedV1 v1) => new(v1.ParcelId, v1.Addr, v1.Weight);

    public static JsonNode UpcastV2(JsonNode json)
    {
        var o = json.AsObject();
        var grams = o["weightGrams"]!.GetValue<int>();
        o.Remove("weightGrams");
        o["weightKg"] = grams / 1000m;
        o["carrier"] = "unknown";
        return o;
    }
}

/// <summary>The parcel aggregate of release 3: handlers for the current types only.</summary>
public sealed class Parcel : AggregateRoot<Guid>
{
    [NonSerialized]
    private int _appliedSinceLoad;

    public string Address { get; private set; } = "";

    public decimal WeightKg { get; private set; }

    public string Carrier { get; private set; } = "";

    public int Shipments { get; private set; }

    public string? Label { get; private set; }

    /// <summary>Gets how many events this instance applied itself (not restored from a snapshot).</summary>
    public int AppliedSinceLoad => _appliedSinceLoad;

    public void Ship(string address, decimal weightKg, string carrier) => Raise(new ParcelShipped(Id, address, weightKg, carrier));

    public string Describe()
        => $"{Id}|{Address}|{WeightKg.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}|{Carrier}|{Shipments}|{Label}|v{Version}";

    private void Apply(ParcelShipped e)
    {
        Id = e.ParcelId;
        Address = e.Address;
        WeightKg += e.WeightKg;
        Carrier = e.Carrier;
        Shipments++;
        _appliedSinceLoad++;
    }

    private void Apply(ParcelLabelled e)
    {
        Label = e.Label;
        _appliedSinceLoad++;
    }
}

/// <summary>
/// Shipped weight per parcel stream (in <see cref="AccountBalance.Balance"/>), with a handler of every other event
/// (<see cref="AccountBalance.Operations"/>): even that one must not receive obsolete events.
/// </summary>
public sealed class ParcelWeightsProjection : Projection<TestDbContext>
{
    public ParcelWeightsProjection()
        : base("parcel-weights")
    {
        On<ParcelShipped>((db, e, envelope) =>
        {
            var row = Row(db, envelope);
            row.Balance += e.WeightKg;
            row.Operations++;
        });
        On<object>((db, e, envelope) => Row(db, envelope).Operations++);
    }

    public override Task ResetAsync(TestDbContext context, CancellationToken cancellationToken)
    {
        context.RemoveRange(context.Set<AccountBalance>().Where(b => b.Projection == Name));
        return Task.CompletedTask;
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
        return row;
    }
}
