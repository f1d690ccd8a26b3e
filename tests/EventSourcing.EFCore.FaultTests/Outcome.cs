using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>How a failed call ended, as a caller that must decide what to do next sees it.</summary>
public enum OutcomeKind
{
    /// <summary>A typed exception of the library (conflict, already appended, projection failed …).</summary>
    Typed,

    /// <summary>A transient error: a Npgsql error marked transient, a broken or refused connection, a retry limit.</summary>
    Transient,

    /// <summary>Anything else: the caller cannot tell what happened, or whether to retry.</summary>
    Untyped,
}

/// <summary>Sorts the exceptions of the fault scenarios into <see cref="OutcomeKind"/>s, and keeps the untyped ones for the report.</summary>
public sealed class OutcomeLog
{
    private readonly ConcurrentQueue<string> _untyped = new();
    private long _typed;
    private long _transient;

    public long Typed => Interlocked.Read(ref _typed);

    public long Transient => Interlocked.Read(ref _transient);

    public long UntypedCount => _untyped.Count;

    /// <summary>Gets the untyped errors, grouped: "count× operation: exception chain".</summary>
    public IReadOnlyList<string> Untyped => [.. _untyped.GroupBy(u => u).Select(g => $"{g.Count()}× {g.Key}")];

    public static OutcomeKind Classify(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e.GetType().Assembly == typeof(StreamId).Assembly)
            {
                return OutcomeKind.Typed;
            }
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is NpgsqlException { IsTransient: true } or RetryLimitExceededException or TimeoutException or SocketException or IOException)
            {
                return OutcomeKind.Transient;
            }
        }

        return OutcomeKind.Untyped;
    }

    /// <summary>Classifies and counts <paramref name="exception"/> raised by <paramref name="operation"/>.</summary>
    public OutcomeKind Record(string operation, Exception exception)
    {
        var kind = Classify(exception);
        switch (kind)
        {
            case OutcomeKind.Typed:
                Interlocked.Increment(ref _typed);
                break;
            case OutcomeKind.Transient:
                Interlocked.Increment(ref _transient);
                break;
            default:
                _untyped.Enqueue($"{operation}: {Describe(exception)}");
                break;
        }

        return kind;
    }

    /// <summary>The exception chain as "Type: message → InnerType: message".</summary>
    public static string Describe(Exception exception)
    {
        var parts = new List<string>();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            var message = e.Message.ReplaceLineEndings(" ");
            parts.Add($"{e.GetType().Name}{(e is PostgresException p ? " " + p.SqlState : "")}: {(message.Length > 200 ? message[..200] + "…" : message)}");
        }

        return string.Join(" → ", parts);
    }
}
