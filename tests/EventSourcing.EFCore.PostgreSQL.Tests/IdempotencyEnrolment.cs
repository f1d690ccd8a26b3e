using EventSourcing.EFCore.Specification.Tests;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

public sealed class IdempotencyNpgsqlTest : IdempotencyTestBase<NpgsqlEventStoreFixture>;

public sealed class ValidationNpgsqlTest : ValidationTestBase<NpgsqlEventStoreFixture>;
