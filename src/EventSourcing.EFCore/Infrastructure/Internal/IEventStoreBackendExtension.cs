namespace EventSourcing.EFCore.Infrastructure.Internal;

/// <summary>
/// Marks the options extension of a database backend package (for example <c>UsePostgreSql()</c>), which replaces the
/// default in-process backend used with EF InMemory.
/// </summary>
internal interface IEventStoreBackendExtension
{
}
