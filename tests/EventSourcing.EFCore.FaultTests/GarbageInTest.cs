using System.Collections.Concurrent;
using EventSourcing.EFCore.FaultTests.Worker;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.FaultTests;

/// <summary>
/// Scenario 4, garbage in: every category of <see cref="GarbageGenerator"/> sends its seeded random inputs through the
/// public entry points, on a database that already holds accounts, projections' rows and outbox rows. Each input must
/// end in a typed exception that names the wrong field, raised before any I/O (no connection opened, no command run by
/// the context), with 0 rows changed in any table (<see cref="TableFingerprint"/> before and after).
/// </summary>
[TestFixture]
public sealed class GarbageInTest
{
    private static readonly ConcurrentDictionary<string, (int Inputs, int Untyped, int Failures, int Accepted, int Written)> Totals = new();
    private string _connectionString = "";
    private GarbageTarget _target = null!;
    private TableFingerprint _fingerprint = null!;

    public static IEnumerable<string> Categories => GarbageGenerator.Categories;

    [OneTimeSetUp]
    public async Task SeedAsync()
    {
        _connectionString = await FaultCluster.CreateDatabaseAsync("garbage");
        var io = new IoCounter();
        var options = FaultStore.CreateOptions(
            _connectionString,
            eventSourcing: es => es.AddEvents(typeof(GarbageInTest).Assembly),
            configure: b => b.AddInterceptors(io));
        await using (var db = new FaultDbContext(options))
        {
            for (var unit = 1; unit <= 12; unit++)
            {
                db.ChangeTracker.Clear();
                await UnitOfWork.RunAsync(db, unit, GarbageGenerator.ExistingAccounts, syncSave: false, CancellationToken.None);
            }

            await db.Projections().CatchUpAsync(FaultStore.CatchUpProjections[0]);
        }

        _target = new GarbageTarget(_connectionString, options, io);
        _fingerprint = await TableFingerprint.ForAsync(_connectionString);
    }

    [OneTimeTearDown]
    public void Record()
    {
        var inputs = Totals.Values.Sum(t => t.Inputs);
        var failing = Totals.Where(t => t.Value.Failures > 0).Select(t => t.Key).ToList();
        FaultFigures.Record(new FigureRow(
            "4. garbage in", inputs, inputs, 0, 0, 0, Totals.Values.Sum(t => t.Untyped), [],
            $"{Totals.Count} categories; {Totals.Values.Sum(t => t.Failures)} inputs failed a check (untyped, field not named, after I/O or rows changed): "
            + $"{Totals.Values.Sum(t => t.Accepted)} accepted without an exception, {Totals.Values.Sum(t => t.Written)} changed rows"
            + (failing.Count > 0 ? " in: " + string.Join("; ", failing) : "")));
    }

    [TestCaseSource(nameof(Categories))]
    public async Task Garbage_ends_in_a_typed_exception_naming_the_field_before_io_with_nothing_written(string category)
    {
        var inputs = GarbageGenerator.Generate(category, FaultScale.GarbagePerCategory, FaultScale.Seed);
        var failures = new List<string>();
        var (untyped, accepted, written) = (0, 0, 0);
        foreach (var input in inputs)
        {
            var before = await _fingerprint.TakeAsync();
            _target.Io.Reset();
            Exception? thrown = null;
            try
            {
                await input.Send(_target);
            }
            catch (Exception e)
            {
                thrown = e;
            }

            var io = _target.Io.Operations;
            var after = await _fingerprint.TakeAsync();
            var problems = new List<string>();
            if (thrown is null)
            {
                accepted++;
                problems.Add("accepted without an exception");
            }
            else
            {
                if (!IsTyped(thrown) && !(input.Configuration && thrown.GetType() == typeof(InvalidOperationException)))
                {
                    untyped++;
                    problems.Add("untyped: " + OutcomeLog.Describe(thrown));
                }
                else if (!NamesField(thrown, input.Field))
                {
                    problems.Add($"does not name the field '{input.Field}': " + OutcomeLog.Describe(thrown));
                }

                if (io > 0)
                {
                    problems.Add($"raised after I/O ({io} connection opens/commands)");
                }
            }

            if (before != after)
            {
                written++;
                problems.Add("rows changed: " + Diff(before, after));
            }

            if (problems.Count > 0)
            {
                failures.Add($"{input.Description}: {string.Join("; ", problems)}");
            }
        }

        Totals[category] = (inputs.Count, untyped, failures.Count, accepted, written);
        TestContext.Out.WriteLine($"{category}: {inputs.Count} inputs (seed {FaultScale.Seed}), {failures.Count} failed a check");
        Assert.That(failures, Is.Empty, $"{failures.Count} of {inputs.Count} inputs of '{category}' failed (seed {FaultScale.Seed})");
    }

    /// <summary>
    /// Typed: an <see cref="ArgumentException"/> (the BCL's bad-argument family, <see cref="EventValidationException"/>
    /// included), the documented <see cref="FormatException"/> of checkpoint parsing, or an exception type of the library.
    /// </summary>
    private static bool IsTyped(Exception e)
        => e is ArgumentException or FormatException || e.GetType().Assembly == typeof(StreamId).Assembly;

    /// <summary>The parameter name, the validation field or the message names the field ("EventId" matches "event id").</summary>
    private static bool NamesField(Exception e, string field)
        => (e is ArgumentException { ParamName: { } name } && Words(name).Contains(Words(field), StringComparison.OrdinalIgnoreCase))
           || (e is EventValidationException v && Words(v.Field).Contains(Words(field), StringComparison.OrdinalIgnoreCase))
           || Words(e.Message).Contains(Words(field), StringComparison.OrdinalIgnoreCase);

    private static string Words(string text) => string.Concat(text.Where(char.IsLetterOrDigit));

    private static string Diff(string before, string after)
    {
        var was = before.Split('\n').ToHashSet();
        return string.Join(", ", after.Split('\n').Where(line => !was.Contains(line)).Select(line => line.Split(" rows ")[0] + " rows"));
    }
}
