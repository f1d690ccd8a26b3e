using System.Diagnostics;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// Records the commands Npgsql sends (its own ActivitySource) inside activities of one test's own source, so that only
/// the commands of that test count, whatever else runs in the process. Each command is its name and tags (the SQL text
/// among them).
/// </summary>
public sealed class NpgsqlCommandRecorder : IDisposable
{
    private readonly ActivitySource _source;
    private readonly ActivityListener _listener;
    private readonly List<(ActivityTraceId Trace, string Command)> _sent = [];

    public NpgsqlCommandRecorder(string name)
    {
        _source = new ActivitySource(name);
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql" || source == _source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == "Npgsql")
                {
                    lock (_sent)
                    {
                        _sent.Add((activity.TraceId, activity.DisplayName + ": " + string.Join("; ", activity.TagObjects.Select(t => t.Key + "=" + t.Value))));
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Runs <paramref name="action"/> in an activity of its own and returns the commands it sent.</summary>
    public async Task<List<string>> RecordAsync(Func<Task> action)
    {
        ActivityTraceId trace;
        using (var activity = _source.StartActivity("recorded")!)
        {
            trace = activity.TraceId;
            await action();
        }

        lock (_sent)
        {
            return _sent.Where(s => s.Trace == trace).Select(s => s.Command).ToList();
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        _source.Dispose();
    }
}
