namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>One registered event type: the CLR type, its stable stored name and its schema version.</summary>
internal sealed record EventTypeMapping(Type ClrType, string Name, int Version);
