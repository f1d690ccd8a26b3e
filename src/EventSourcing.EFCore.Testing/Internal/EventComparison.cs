using System.Text.Json;

namespace EventSourcing.EFCore.Testing.Internal;

/// <summary>Compares expected and raised events: equal by <see cref="object.Equals(object)"/>, or same type and same JSON.</summary>
internal static class EventComparison
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    /// <summary>Returns the index of the first event that differs (the shorter length when one list is a prefix of the other), or null when equal.</summary>
    public static int? FirstDifference(IReadOnlyList<object> expected, IReadOnlyList<object> actual)
    {
        var common = Math.Min(expected.Count, actual.Count);
        for (var i = 0; i < common; i++)
        {
            if (!AreEqual(expected[i], actual[i]))
            {
                return i;
            }
        }

        return expected.Count == actual.Count ? null : common;
    }

    public static bool AreEqual(object expected, object actual)
        => Equals(expected, actual)
           || (expected.GetType() == actual.GetType() && Json(expected) is { } json && json == Json(actual));

    /// <summary>The event's JSON, or null when System.Text.Json cannot write its type.</summary>
    public static string? Json(object e)
    {
        try
        {
            return JsonSerializer.Serialize(e, e.GetType(), JsonOptions);
        }
        catch (NotSupportedException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string Describe(object e) => $"{e.GetType().Name} {Json(e) ?? e.ToString()}";
}
