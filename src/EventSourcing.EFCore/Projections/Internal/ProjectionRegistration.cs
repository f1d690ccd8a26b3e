namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>A projection registered on the options: catch-up (after commit, from a checkpoint) or inline (inside SaveChanges).</summary>
internal sealed record ProjectionRegistration(Projection Projection, bool IsInline);
