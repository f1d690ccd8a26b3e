namespace EventSourcing.EFCore.PostgreSQL.OutboxInternal;

/// <summary>A stream's key in the pending-stream index's order (type, id); <see cref="Start"/> sorts before every stream.</summary>
internal sealed record StreamKey(string Type, string Id)
{
    public static StreamKey Start { get; } = new(string.Empty, string.Empty);
}
