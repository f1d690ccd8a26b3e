using System.Reflection;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>A note of one of many event types (one per <typeparamref name="TTag"/>), for loads that meet many type names.</summary>
/// <typeparam name="TTag">Only tells the event types apart.</typeparam>
public sealed record Note<TTag>(Guid BookId, string Text);

/// <summary>
/// An aggregate with a handler for each of <see cref="NoteTypes"/> (registered with <c>On</c> in the constructor): its
/// state is the texts of its notes in stream order, so a load that read any event under the wrong type or out of order shows.
/// </summary>
[AggregateType("notebook")]
public sealed class NoteBook : AggregateRoot<Guid>
{
    private static readonly Type[] Tags =
    [
        typeof(int), typeof(long), typeof(short), typeof(byte), typeof(sbyte), typeof(uint), typeof(ulong), typeof(ushort),
        typeof(string), typeof(Guid), typeof(DateTime), typeof(DateTimeOffset), typeof(TimeSpan), typeof(decimal), typeof(double),
        typeof(float), typeof(bool), typeof(char), typeof(DateOnly), typeof(TimeOnly),
    ];

    private readonly List<string> _texts = [];

    private NoteBook()
    {
        var register = typeof(NoteBook).GetMethod(nameof(Register), BindingFlags.Instance | BindingFlags.NonPublic)!;
        foreach (var tag in Tags)
        {
            register.MakeGenericMethod(tag).Invoke(this, null);
        }
    }

    /// <summary>Gets the note event types, one per tag.</summary>
    public static IReadOnlyList<Type> NoteTypes { get; } = Tags.Select(t => typeof(Note<>).MakeGenericType(t)).ToArray();

    public IReadOnlyList<string> Texts => _texts;

    /// <summary>Makes a note of type <see cref="NoteTypes"/>[<paramref name="type"/>].</summary>
    public static object Note(int type, Guid bookId, string text) => Activator.CreateInstance(NoteTypes[type], bookId, text)!;

    private void Register<TTag>() => On<Note<TTag>>(e =>
    {
        Id = e.BookId;
        _texts.Add(e.Text);
    });
}
