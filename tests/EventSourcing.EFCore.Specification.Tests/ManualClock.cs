namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>A clock the tests move by hand (retry backoff, retention, projection lag).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    /// <summary>Starts at the current time truncated to whole seconds (so database precision does not show).</summary>
    public ManualClock()
        : this(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()))
    {
    }

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
