using EventSourcing.EFCore.Diagnostics.Internal;
using Microsoft.Extensions.Logging;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>A logger factory that records the library's log messages (event ids from 470000) in a list.</summary>
public sealed class CapturingLoggerFactory(List<(EventId Id, string Message)> log) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new Logger(log);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(List<(EventId Id, string Message)> log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
            => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id >= 470000)
            {
                lock (log)
                {
                    log.Add((eventId, formatter(state, exception)));
                }
            }
        }
    }
}
