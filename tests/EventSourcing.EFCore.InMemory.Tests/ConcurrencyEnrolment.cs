using EventSourcing.EFCore.Specification.Tests;

namespace EventSourcing.EFCore.InMemory.Tests;

public sealed class ConcurrencyInMemoryTest : ConcurrencyTestBase<InMemoryEventStoreFixture>;
