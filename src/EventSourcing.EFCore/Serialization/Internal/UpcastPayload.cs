namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>
/// What <see cref="EventUpcasting.Upcast"/> makes of a stored (name, version, JSON): the current type and name, the
/// version received, and either the JSON to deserialize as before (<see cref="Json"/>, when no upcaster ran) or the
/// object already produced (<see cref="Data"/>: the upcast event, or an <see cref="ObsoleteEvent"/>).
/// </summary>
internal readonly record struct UpcastPayload(string EventType, Type ClrType, int ReceivedVersion, string? Json, object? Data)
{
    public bool IsObsolete => Data is ObsoleteEvent;
}
