using System.Diagnostics;
using System.Text;
using NUnit.Framework;
using RabbitMQ.Client;

namespace EventSourcing.EFCore.RabbitMQ.Tests;

/// <summary>
/// The broker of this run: <c>EVENTSOURCING_TEST_RABBITMQ</c> (an AMQP URI, set by eng/test.sh, which starts a throwaway
/// node with eng/rabbitmq.sh). Pausing it (a broker outage) needs <c>EVENTSOURCING_TEST_RABBITMQ_DIR</c>, the node's
/// directory. Each test gets its own exchange and durable queue.
/// </summary>
public static class RabbitMqBroker
{
    public const string UriVariable = "EVENTSOURCING_TEST_RABBITMQ";
    public const string DirectoryVariable = "EVENTSOURCING_TEST_RABBITMQ_DIR";

    public static Uri Uri
    {
        get
        {
            var value = Environment.GetEnvironmentVariable(UriVariable);
            if (string.IsNullOrWhiteSpace(value))
            {
                Assert.Fail($"Set {UriVariable} to a RabbitMQ AMQP URI, or run eng/test.sh, which starts a throwaway node (eng/rabbitmq.sh).");
            }

            return new Uri(value!);
        }
    }

    /// <summary>Declares a topic exchange and a durable queue bound to it for every routing key; returns their names.</summary>
    public static async Task<(string Exchange, string Queue)> DeclareAsync(bool bindQueue = true)
    {
        var name = "es-test-" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = await new ConnectionFactory { Uri = Uri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(name, ExchangeType.Topic, durable: true);
        await channel.QueueDeclareAsync(name, durable: true, exclusive: false, autoDelete: false);
        if (bindQueue)
        {
            await channel.QueueBindAsync(name, name, "#");
        }

        return (name, name);
    }

    /// <summary>Takes every message now in <paramref name="queue"/> (acknowledged), in queue order.</summary>
    public static async Task<List<(string MessageId, string? Type, long Timestamp, IDictionary<string, string> Headers, string Body)>> DrainAsync(string queue)
    {
        await using var connection = await new ConnectionFactory { Uri = Uri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var messages = new List<(string, string?, long, IDictionary<string, string>, string)>();
        while (await channel.BasicGetAsync(queue, autoAck: true) is { } result)
        {
            var headers = (result.BasicProperties.Headers ?? new Dictionary<string, object?>())
                .ToDictionary(h => h.Key, h => h.Value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : h.Value?.ToString() ?? "");
            messages.Add((result.BasicProperties.MessageId!, result.BasicProperties.Type, result.BasicProperties.Timestamp.UnixTime, headers,
                Encoding.UTF8.GetString(result.Body.Span)));
        }

        return messages;
    }

    /// <summary>Stops (<paramref name="pause"/>) or starts the broker application of the test node.</summary>
    public static void SetPaused(bool pause)
    {
        var directory = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (string.IsNullOrWhiteSpace(directory))
        {
            Assert.Fail($"Set {DirectoryVariable} to the directory of a node started by eng/rabbitmq.sh (eng/test.sh does) to test a broker outage.");
        }

        var script = Path.Combine(RepositoryRoot(), "eng", "rabbitmq.sh");
        using var process = Process.Start(new ProcessStartInfo("bash") { ArgumentList = { script, pause ? "pause" : "resume", directory! }, UseShellExecute = false })!;
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, $"eng/rabbitmq.sh {(pause ? "pause" : "resume")}");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "eng", "rabbitmq.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("eng/rabbitmq.sh not found above " + AppContext.BaseDirectory);
    }
}
