using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace EventSourcing.EFCore.Specification.Tests;

/// <summary>
/// The library logs under its own categories (<c>EventSourcing.EFCore.*</c>): a user who filters EF Core's categories
/// to Warning still sees every library line, and one filter on <c>EventSourcing.EFCore</c> catches them all.
/// </summary>
public abstract class LoggingTestBase<TFixture> : EventStoreTestBase<TFixture>
    where TFixture : EventStoreFixtureBase, new()
{
    [Test]
    public virtual async Task Library_lines_are_logged_under_EventSourcing_EFCore_whatever_the_filter_on_EF_Core([Values] bool async)
    {
        var lines = await AppendAndConflictAsync(async, b => b.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning));

        var library = lines.Where(l => l.Id.Id is >= 470000 and < 480000).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(library.Select(l => l.Id.Id), Does.Contain(EventSourcingEventId.EventsAppended.Id).And.Contain(EventSourcingEventId.AppendConflict.Id));
            Assert.That(library.Where(l => l.Id.Id == EventSourcingEventId.EventsAppended.Id).Select(l => l.Category), Has.All.EqualTo(EventSourcingLoggerCategory.Streams));
            Assert.That(library.Select(l => l.Category), Has.All.StartWith(EventSourcingLoggerCategory.Name + "."));
            Assert.That(lines.Where(l => l.Category.StartsWith("Microsoft.EntityFrameworkCore", StringComparison.Ordinal)).Select(l => l.Level),
                Has.All.GreaterThanOrEqualTo(LogLevel.Warning), "the user's filter on EF Core still applies to EF's own lines");
        });
    }

    [Test]
    public virtual async Task One_filter_on_EventSourcing_EFCore_silences_every_library_line([Values] bool async)
    {
        var lines = await AppendAndConflictAsync(async, b => b.AddFilter(EventSourcingLoggerCategory.Name, LogLevel.None));

        Assert.That(lines.Where(l => l.Id.Id is >= 470000 and < 480000), Is.Empty);
        Assert.That(lines, Is.Not.Empty, "EF's own lines still reach the provider, so the capture works");
    }

    private async Task<List<(string Category, LogLevel Level, EventId Id)>> AppendAndConflictAsync(bool async, Action<ILoggingBuilder> filter)
    {
        var lines = new List<(string Category, LogLevel Level, EventId Id)>();
        using var factory = LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(LogLevel.Trace).AddProvider(new Capture(lines));
            filter(b);
        });
        var stream = NewStream();
        var options = new DbContextOptionsBuilder<TestDbContext>(Fixture.CreateOptions()).UseLoggerFactory(factory).Options;
        await using (var db = new TestDbContext(options))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(1));
            await SaveAsync(db, async);
        }

        await using (var db = new TestDbContext(options))
        {
            db.Events().Append(stream, ExpectedVersion.NoStream, new Deposited(2));
            Assert.That(async () => await SaveAsync(db, async), Throws.InstanceOf<StreamConcurrencyException>());
        }

        lock (lines)
        {
            return [.. lines];
        }
    }

    private sealed class Capture(List<(string Category, LogLevel Level, EventId Id)> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, List<(string Category, LogLevel Level, EventId Id)> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
                => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (lines)
                {
                    lines.Add((category, logLevel, eventId));
                }
            }
        }
    }
}
