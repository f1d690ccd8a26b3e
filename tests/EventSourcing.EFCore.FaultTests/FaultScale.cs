namespace EventSourcing.EFCore.FaultTests;

/// <summary>
/// How much each scenario does: the short version in every <c>eng/test.sh</c> run, the full one with
/// <c>EVENTSOURCING_LONG_TESTS=1</c> (<c>eng/test.sh --long</c>). <c>EVENTSOURCING_FAULT_SEED</c> replays a run.
/// </summary>
public static class FaultScale
{
    public static bool Long { get; } = Environment.GetEnvironmentVariable("EVENTSOURCING_LONG_TESTS") == "1";

    /// <summary>Gets the seed of this run's random choices (printed by every scenario).</summary>
    public static int Seed { get; } = int.TryParse(Environment.GetEnvironmentVariable("EVENTSOURCING_FAULT_SEED"), out var seed)
        ? seed
        : Random.Shared.Next();

    /// <summary>Scenario 1: SIGKILLs of the child process (<c>EVENTSOURCING_FAULT_KILLS</c> overrides: each costs a process start).</summary>
    public static int Kills => int.TryParse(Environment.GetEnvironmentVariable("EVENTSOURCING_FAULT_KILLS"), out var kills) && kills > 0
        ? kills
        : Long ? 1000 : 20;

    /// <summary>Scenario 2: immediate restarts of the server under load.</summary>
    public static int Restarts => Long ? 100 : 3;

    /// <summary>Scenario 3: terminated backends.</summary>
    public static int Terminations => Long ? 200 : 20;

    /// <summary>Scenario 4: inputs per garbage category (at least 1,000 in all with <c>--long</c>).</summary>
    public static int GarbagePerCategory => Long ? 40 : 8;
}
