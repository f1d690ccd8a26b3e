using EventSourcing.EFCore.Specification.Tests;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

public sealed class ConcurrencyNpgsqlTest : ConcurrencyTestBase<NpgsqlEventStoreFixture>;
