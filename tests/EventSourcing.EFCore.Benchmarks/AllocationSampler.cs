using System.Diagnostics.Tracing;
using System.Globalization;

namespace EventSourcing.EFCore.Benchmarks;

/// <summary>
/// The <c>--alloc-profile</c> option: samples the runtime's <c>GCAllocationTick</c> events (one about every 100 KB
/// allocated, naming the type of the object that crossed the threshold) during the library variant's measured runs, and
/// reports the types most sampled, an allocation breakdown without dotnet-trace. Sampling adds overhead: do not read the
/// run's rates when it is on.
/// </summary>
public sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly Dictionary<string, long> _bytesByType = [];
    private volatile bool _sampling;

    /// <summary>Gets the process's sampler when <c>--alloc-profile</c> was given, else null.</summary>
    public static AllocationSampler? Instance { get; set; }

    public bool Sampling
    {
        set => _sampling = value;
    }

    /// <summary>Returns the most sampled types with their share of the sampled bytes, and forgets them.</summary>
    public string TakeSummary(int top = 12)
    {
        _sampling = false;
        lock (_bytesByType)
        {
            if (_bytesByType.Count == 0)
            {
                return "no samples";
            }

            var total = Math.Max(1, _bytesByType.Values.Sum());
            var summary = string.Join("; ", _bytesByType.OrderByDescending(p => p.Value).Take(top)
                .Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key} {100.0 * p.Value / total:0}%")));
            _bytesByType.Clear();
            return summary;
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_sampling || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
        {
            return;
        }

        var type = eventData.PayloadNames!.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload[t] as string ?? "?" : "?";
        var amount = eventData.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload[a], CultureInfo.InvariantCulture) : 100_000;
        lock (_bytesByType)
        {
            _bytesByType[type] = _bytesByType.GetValueOrDefault(type) + amount;
        }
    }
}
