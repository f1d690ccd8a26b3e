using EventSourcing.EFCore.Specification.Tests;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

public sealed class AppendNpgsqlTest : AppendTestBase<NpgsqlEventStoreFixture>;

public sealed class ReadStreamNpgsqlTest : ReadStreamTestBase<NpgsqlEventStoreFixture>;

public sealed class ReadAllNpgsqlTest : ReadAllTestBase<NpgsqlEventStoreFixture>;

public sealed class ReadAllRoundTripNpgsqlTest : ReadAllRoundTripTestBase<NpgsqlEventStoreFixture>;

public sealed class AggregateNpgsqlTest : AggregateTestBase<NpgsqlEventStoreFixture>;

public sealed class AggregateLoadNpgsqlTest : AggregateLoadTestBase<NpgsqlEventStoreFixture>;

public sealed class SnapshotNpgsqlTest : SnapshotTestBase<NpgsqlEventStoreFixture>;

public sealed class SnapshotPropertyNpgsqlTest : SnapshotPropertyTestBase<NpgsqlEventStoreFixture>;

public sealed class ProjectionNpgsqlTest : ProjectionTestBase<NpgsqlEventStoreFixture>;

public sealed class ProjectionLoadNpgsqlTest : ProjectionLoadTestBase<NpgsqlEventStoreFixture>;

public sealed class OutboxNpgsqlTest : OutboxTestBase<NpgsqlEventStoreFixture>;

public sealed class TelemetryNpgsqlTest : TelemetryTestBase<NpgsqlEventStoreFixture>;

public sealed class LoggingNpgsqlTest : LoggingTestBase<NpgsqlEventStoreFixture>;

public sealed class UpcastingNpgsqlTest : UpcastingTestBase<NpgsqlEventStoreFixture>;

public sealed class TestingHelpersNpgsqlTest : TestingHelpersTestBase<NpgsqlEventStoreFixture>;

public sealed class WritePathNpgsqlTest : WritePathTestBase<NpgsqlEventStoreFixture>;
public sealed class EventOnlySaveNpgsqlTest : EventOnlySaveTestBase<NpgsqlEventStoreFixture>;

public sealed class PolymorphicNpgsqlTest : PolymorphicEventTestBase<NpgsqlEventStoreFixture>;

public sealed class UnreadableEventNpgsqlTest : UnreadableEventTestBase<NpgsqlEventStoreFixture>;

public sealed class ProjectionErrorPolicyNpgsqlTest : ProjectionErrorPolicyTestBase<NpgsqlEventStoreFixture>;

public sealed class ProjectionPrefetchNpgsqlTest : ProjectionPrefetchTestBase<NpgsqlEventStoreFixture>;

public sealed class LossySnapshotNpgsqlTest : LossySnapshotTestBase<NpgsqlEventStoreFixture>;

public sealed class RoundTripPropertyNpgsqlTest : RoundTripPropertyTestBase<NpgsqlEventStoreFixture>;

public sealed class AppendGuardReleaseNpgsqlTest : AppendGuardReleaseTestBase<NpgsqlEventStoreFixture>;

public sealed class OutboxPayloadNpgsqlTest : OutboxPayloadTestBase<NpgsqlEventStoreFixture>;

public sealed class HealthCheckNpgsqlTest : HealthCheckTestBase<NpgsqlEventStoreFixture>;

public sealed class HostedOptionsNpgsqlTest : HostedOptionsTestBase<NpgsqlEventStoreFixture>;
