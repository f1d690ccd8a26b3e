using EventSourcing.EFCore.Diagnostics.Internal;
namespace EventSourcing.EFCore;

/// <summary>
/// Thrown when an appended event's CLR type is not registered with the event store, or when a stored event carries a
/// type name that no registered type has.
/// </summary>
public sealed class UnknownEventTypeException : InvalidOperationException
{
    /// <summary>Creates the exception for an unregistered CLR type (append).</summary>
    /// <param name="clrType">The CLR type that has no registered name.</param>
    public UnknownEventTypeException(Type clrType)
        : base(Messages.UnknownEventClrType(clrType)) => ClrType = clrType;

    /// <summary>Creates the exception for an unknown stored name (read).</summary>
    /// <param name="eventType">The stored name that no registered type has.</param>
    public UnknownEventTypeException(string eventType)
        : base(Messages.UnknownEventTypeName(eventType)) => EventType = eventType;

    /// <summary>Creates the exception for a stored version of a known name that no type or upcaster reads (read).</summary>
    /// <param name="eventType">The stored name.</param>
    /// <param name="version">The stored schema version that cannot be read.</param>
    public UnknownEventTypeException(string eventType, int version)
        : base(Messages.UnknownEventTypeVersion(eventType, version))
    {
        EventType = eventType;
        Version = version;
    }

    /// <summary>Gets the stored schema version that cannot be read, when the name is known but the version is not.</summary>
    public int? Version { get; }

    /// <summary>Gets the unregistered CLR type, when the failure came from an append.</summary>
    public Type? ClrType { get; }

    /// <summary>Gets the unknown stored name, when the failure came from a read.</summary>
    public string? EventType { get; }
}
