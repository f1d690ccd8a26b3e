namespace EventSourcing.EFCore;

/// <summary>
/// The read-all horizon check (PostgreSQL): <c>Degraded</c> while committed events wait behind a transaction open for
/// <see cref="ProjectionHostOptions.ReadHorizonStallThreshold"/> (default 30 s) or longer, the same threshold as the
/// <see cref="EventSourcingEventId.ReadHorizonHeldBack"/> warning; the result's data names the holder (pid, database,
/// application name, state, transaction age). Back to <c>Healthy</c> when the transaction ends. On EF InMemory, which has
/// no such horizon, it is always healthy.
/// </summary>
public sealed class ReadHorizonHealthCheckOptions : EventSourcingHealthCheckRegistration
{
    private protected override string Kind => "read-horizon";
}
