namespace EventSourcing.EFCore.FaultTests;

// Event types whose instances the garbage generator fills with malformed content (registered only in the garbage
// scenario's options).

[EventType("garbage.text")]
public sealed record TextChanged(string Text);

[EventType("garbage.tree")]
public sealed record TreeGrown(TreeNode Root);

[EventType("garbage.handle")]
public sealed record HandleOpened(IntPtr Handle);

[EventType("garbage.type")]
public sealed record TypeNoted(Type Type);

[EventType("garbage.callback")]
public sealed record CallbackSet(Func<int> Callback);

/// <summary>A node of a payload tree: nests as deep as the generator likes, and can point back at itself (a cycle).</summary>
public sealed class TreeNode
{
    public List<TreeNode> Children { get; init; } = [];
}

/// <summary>An event type that is deliberately not registered.</summary>
public sealed record NotRegistered(int Value);
