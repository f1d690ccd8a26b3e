using EventSourcing.EFCore.Specification.Tests;

namespace EventSourcing.EFCore.InMemory.Tests;

public sealed class AppendInMemoryTest : AppendTestBase<InMemoryEventStoreFixture>;

public sealed class ReadStreamInMemoryTest : ReadStreamTestBase<InMemoryEventStoreFixture>;

public sealed class ReadAllInMemoryTest : ReadAllTestBase<InMemoryEventStoreFixture>;

public sealed class ReadAllRoundTripInMemoryTest : ReadAllRoundTripTestBase<InMemoryEventStoreFixture>;

public sealed class AggregateInMemoryTest : AggregateTestBase<InMemoryEventStoreFixture>;

public sealed class AggregateLoadInMemoryTest : AggregateLoadTestBase<InMemoryEventStoreFixture>;

public sealed class SnapshotInMemoryTest : SnapshotTestBase<InMemoryEventStoreFixture>;

public sealed class SnapshotPropertyInMemoryTest : SnapshotPropertyTestBase<InMemoryEventStoreFixture>;

public sealed class ProjectionInMemoryTest : ProjectionTestBase<InMemoryEventStoreFixture>;

public sealed class ProjectionLoadInMemoryTest : ProjectionLoadTestBase<InMemoryEventStoreFixture>
{
    // 10,000 events even with --long: the InMemory append guard reads stream versions by scanning the whole table under a
    // process-wide lock, so writes slow down with the store's size (about 600 events/s at 10,000 already).
    protected override int EventCount => 10_000;
}

public sealed class OutboxInMemoryTest : OutboxTestBase<InMemoryEventStoreFixture>;

public sealed class TelemetryInMemoryTest : TelemetryTestBase<InMemoryEventStoreFixture>;

public sealed class LoggingInMemoryTest : LoggingTestBase<InMemoryEventStoreFixture>;

public sealed class UpcastingInMemoryTest : UpcastingTestBase<InMemoryEventStoreFixture>;

public sealed class TestingHelpersInMemoryTest : TestingHelpersTestBase<InMemoryEventStoreFixture>;

public sealed class WritePathInMemoryTest : WritePathTestBase<InMemoryEventStoreFixture>;
public sealed class EventOnlySaveInMemoryTest : EventOnlySaveTestBase<InMemoryEventStoreFixture>;

public sealed class PolymorphicInMemoryTest : PolymorphicEventTestBase<InMemoryEventStoreFixture>;

public sealed class UnreadableEventInMemoryTest : UnreadableEventTestBase<InMemoryEventStoreFixture>;

public sealed class ProjectionErrorPolicyInMemoryTest : ProjectionErrorPolicyTestBase<InMemoryEventStoreFixture>;

public sealed class ProjectionPrefetchInMemoryTest : ProjectionPrefetchTestBase<InMemoryEventStoreFixture>;

public sealed class LossySnapshotInMemoryTest : LossySnapshotTestBase<InMemoryEventStoreFixture>;

public sealed class RoundTripPropertyInMemoryTest : RoundTripPropertyTestBase<InMemoryEventStoreFixture>;

public sealed class AppendGuardReleaseInMemoryTest : AppendGuardReleaseTestBase<InMemoryEventStoreFixture>;

public sealed class OutboxPayloadInMemoryTest : OutboxPayloadTestBase<InMemoryEventStoreFixture>;

public sealed class HealthCheckInMemoryTest : HealthCheckTestBase<InMemoryEventStoreFixture>;

public sealed class HostedOptionsInMemoryTest : HostedOptionsTestBase<InMemoryEventStoreFixture>;
