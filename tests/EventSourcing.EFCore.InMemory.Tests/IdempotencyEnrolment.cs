using EventSourcing.EFCore.Specification.Tests;

namespace EventSourcing.EFCore.InMemory.Tests;

public sealed class IdempotencyInMemoryTest : IdempotencyTestBase<InMemoryEventStoreFixture>;

public sealed class ValidationInMemoryTest : ValidationTestBase<InMemoryEventStoreFixture>;
