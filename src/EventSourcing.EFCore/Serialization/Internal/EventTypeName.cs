using EventSourcing.EFCore.Streams.Internal;

namespace EventSourcing.EFCore.Serialization.Internal;

/// <summary>The rules for a stable event type name.</summary>
internal static class EventTypeName
{
    public const int MaxLength = 200;

    /// <summary>Returns why <paramref name="name"/> is not a usable name, or null when it is.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "it is empty";
        }

        if (name.Length > MaxLength)
        {
            return $"it is longer than {MaxLength} characters";
        }

        if (name.Trim().Length != name.Length || name.Any(char.IsControl))
        {
            return "it has leading or trailing white space or control characters";
        }

        if (EventPreparer.HasLoneSurrogate(name))
        {
            return "it contains a lone UTF-16 surrogate (half of a character)";
        }

        return null;
    }
}
