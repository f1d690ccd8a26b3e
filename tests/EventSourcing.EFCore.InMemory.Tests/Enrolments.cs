using EventSourcing.EFCore.Specification.Tests;

namespace EventSourcing.EFCore.InMemory.Tests;

public sealed class AppendInMemoryTest : AppendTestBase<InMemoryEventStoreFixture>;

public sealed class ReadStreamInMemoryTest : ReadStreamTestBase<InMemoryEventStoreFixture>;

public sealed class ReadAllInMemoryTest : ReadAllTestBase<InMemoryEventStoreFixture>;

public sealed class AggregateInMemoryTest : AggregateTestBase<InMemoryEventStoreFixture>;

public sealed class OutboxInMemoryTest : OutboxTestBase<InMemoryEventStoreFixture>;
