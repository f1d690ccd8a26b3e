using System.Globalization;
using EventSourcing.EFCore.Specification.Tests;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NUnit.Framework;

namespace EventSourcing.EFCore.PostgreSQL.Tests;

/// <summary>
/// PostgreSQL only (DESIGN.md sections 4, 5 and 7): read-all by (tx_id, position) below the oldest running transaction,
/// so that it neither skips late commits nor stalls on rolled-back positions; the stream guard trigger that keeps
/// per-stream order in agreement with that global order; error translation without Include Error Detail; the schema.
/// </summary>
public sealed class ReadAllGapNpgsqlTest : EventStoreTestBase<NpgsqlEventStoreFixture>
{
    [Test]
    public async Task Read_all_holds_back_commits_above_an_open_lower_transaction_and_returns_them_in_order_once_it_commits()
    {
        var earlier = NewStream();
        var streamA = NewStream();
        var streamB = NewStream();
        var earlierIds = await SeedAsync(earlier, 1);
        var beforeA = (await ReadAllAsync()).Single();
        Assert.That(beforeA.EventId, Is.EqualTo(earlierIds[0]));

        var idA = Guid.CreateVersion7();
        var idB = Guid.CreateVersion7();
        await using var a = CreateContext();
        await using var transactionA = await a.Database.BeginTransactionAsync();
        a.Events().Append(streamA, ExpectedVersion.NoStream, new EventData(new Deposited(1)) { EventId = idA });
        await a.SaveChangesAsync();

        await using (var b = CreateContext())
        {
            b.Events().Append(streamB, ExpectedVersion.NoStream, new EventData(new Deposited(2)) { EventId = idB });
            await b.SaveChangesAsync();
        }

        Assert.That((await ReadStreamAsync(streamB)).Select(e => e.EventId), Is.EqualTo(new[] { idB }), "B is committed");
        Assert.That((await ReadAllAsync()).Select(e => e.EventId), Is.EqualTo(earlierIds), "neither A (open) nor B (above A) from Start");
        Assert.That(await ReadAllAsync(beforeA.Checkpoint), Is.Empty, "nothing after the reader's checkpoint yet");

        await transactionA.CommitAsync();

        var resumed = await ReadAllAsync(beforeA.Checkpoint);
        Assert.That(resumed.Select(e => e.EventId), Is.EqualTo(new[] { idA, idB }), "the late commit A is not skipped, and comes first");
        Assert.That(resumed[0].Checkpoint.TransactionId, Is.LessThan(resumed[1].Checkpoint.TransactionId));
        Assert.That(resumed.Select(e => e.Checkpoint.Position), Is.EqualTo(resumed.Select(e => e.GlobalPosition)));
        var all = await ReadAllAsync();
        Assert.That(all.Select(e => e.EventId), Is.EqualTo(earlierIds.Append(idA).Append(idB)));
        Assert.That(all.Select(e => e.Checkpoint), Is.Ordered.Ascending.And.Unique);
        Assert.That(await ReadAllAsync(all[^1].Checkpoint), Is.Empty, "resuming from the last checkpoint returns nothing new");
    }

    [Test]
    public async Task Read_all_orders_by_transaction_id_before_position()
    {
        var streamA = NewStream();
        var streamB = NewStream();
        await using var a = CreateContext();
        await using var transactionA = await a.Database.BeginTransactionAsync();
        var xidA = await CurrentTransactionIdAsync(a); // assigns A its transaction id before B starts

        var idB = Guid.CreateVersion7();
        await using (var b = CreateContext())
        {
            b.Events().Append(streamB, ExpectedVersion.NoStream, new EventData(new Deposited(2)) { EventId = idB });
            await b.SaveChangesAsync();
        }

        var idA = Guid.CreateVersion7();
        a.Events().Append(streamA, ExpectedVersion.NoStream, new EventData(new Deposited(1)) { EventId = idA });
        await a.SaveChangesAsync();
        await transactionA.CommitAsync();

        var all = await ReadAllAsync();
        Assert.That(all.Select(e => e.EventId), Is.EqualTo(new[] { idA, idB }));
        Assert.That(all[0].GlobalPosition, Is.GreaterThan(all[1].GlobalPosition), "A took its position after B");
        Assert.That(all[0].Checkpoint.TransactionId, Is.EqualTo(xidA));
        Assert.That(all[0].Checkpoint, Is.LessThan(all[1].Checkpoint));
        Assert.That(await ReadAllAsync(all[0].Checkpoint), Has.Count.EqualTo(1).And.All.Property(nameof(RecordedEvent.EventId)).EqualTo(idB));
    }

    [Test]
    public async Task A_rolled_back_append_leaves_a_hole_in_positions_and_read_all_returns_a_later_commit_at_once()
    {
        var (burned, idA, streamA) = await AppendAndRollBackAsync(whileOpen: null);

        var streamB = NewStream();
        var idB = Guid.CreateVersion7();
        await using (var b = CreateContext())
        {
            b.Events().Append(streamB, ExpectedVersion.NoStream, new EventData(new Deposited(2)) { EventId = idB });
            await b.SaveChangesAsync();
        }

        var all = await ReadAllAsync();
        Assert.That(all.Select(e => e.EventId), Is.EqualTo(new[] { idB }));
        Assert.That(all[0].GlobalPosition, Is.GreaterThan(burned));
        await AssertNoEventAsync(idA, streamA);
    }

    [Test]
    public async Task A_commit_held_back_by_an_open_transaction_is_returned_at_once_when_that_transaction_rolls_back()
    {
        var streamB = NewStream();
        var idB = Guid.CreateVersion7();
        var (burned, idA, streamA) = await AppendAndRollBackAsync(whileOpen: async () =>
        {
            await using (var b = CreateContext())
            {
                b.Events().Append(streamB, ExpectedVersion.NoStream, new EventData(new Deposited(2)) { EventId = idB });
                await b.SaveChangesAsync();
            }

            Assert.That(await ReadAllAsync(), Is.Empty, "B is held back while A is open");
        });

        var all = await ReadAllAsync();
        Assert.That(all.Select(e => e.EventId), Is.EqualTo(new[] { idB }));
        Assert.That(all[0].GlobalPosition, Is.GreaterThan(burned));
        await AssertNoEventAsync(idA, streamA);
    }

    [Test]
    public async Task Events_saved_inside_savepoints_carry_the_top_level_transaction_id([Values] bool async)
    {
        var first = NewStream();
        var second = NewStream();
        var idFirst = Guid.CreateVersion7();
        var idSecond = Guid.CreateVersion7();
        ulong xid;
        uint secondRowXmin;
        await using (var db = CreateContext())
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Events().Append(first, ExpectedVersion.NoStream, new EventData(new Deposited(1)) { EventId = idFirst });
            await SaveAsync(db, async);
            await transaction.CreateSavepointAsync("before_second_save");
            db.Events().Append(second, ExpectedVersion.NoStream, new EventData(new Deposited(2)) { EventId = idSecond });
            await SaveAsync(db, async);
            xid = await CurrentTransactionIdAsync(db);
            secondRowXmin = uint.Parse(await ScalarInTransactionAsync(db, "SELECT xmin::text FROM es_events WHERE event_id = @id", idSecond), CultureInfo.InvariantCulture);
            await transaction.CommitAsync();
        }

        // The row's xmin is the subtransaction's own xid: the second save really ran inside a savepoint.
        Assert.That(secondRowXmin, Is.Not.EqualTo((uint)(xid & uint.MaxValue)), "the second row was written by a subtransaction");
        var firstEvent = (await ReadStreamAsync(first)).Single();
        var secondEvent = (await ReadStreamAsync(second)).Single();
        Assert.That(secondEvent.Checkpoint.TransactionId, Is.EqualTo(firstEvent.Checkpoint.TransactionId));
        Assert.That(firstEvent.Checkpoint.TransactionId, Is.EqualTo(xid));
        var all = await ReadAllAsync();
        Assert.That(all.Select(e => e.EventId), Is.EqualTo(new[] { idFirst, idSecond }));
        Assert.That(all.Select(e => e.Checkpoint.TransactionId), Is.All.EqualTo(xid));
    }

    [Test]
    public async Task An_append_after_a_stream_event_of_a_later_transaction_fails_with_a_retryable_serialization_failure([Values] bool async)
    {
        var stream = NewStream();
        var idA = Guid.CreateVersion7();
        var idB = Guid.CreateVersion7();
        await using var a = CreateContext();
        var transactionA = await a.Database.BeginTransactionAsync();
        a.Customers.Add(new Customer { Name = "Early", Email = Guid.NewGuid() + "@example.com" });
        await SaveAsync(a, async); // A now holds a transaction id lower than B's

        await using (var b = CreateContext())
        {
            b.Events().Append(stream, ExpectedVersion.NoStream, new EventData(new Deposited(1)) { EventId = idB });
            await SaveAsync(b, async);
        }

        a.Events().Append(stream, ExpectedVersion.Exactly(1), new EventData(new Deposited(2)) { EventId = idA });
        // Npgsql's default (non-retrying) execution strategy wraps a transient error in an InvalidOperationException
        // ("likely due to a transient failure"); the library reports it as what it is, a StreamConcurrencyException
        // (a DbUpdateException), whose inner PostgreSQL error stays transient for retrying execution strategies.
        var failure = Assert.CatchAsync<Exception>(() => SaveAsync(a, async));
        Assert.That(failure, Is.TypeOf<StreamConcurrencyException>());
        Assert.That(failure!.InnerException, Is.TypeOf<DbUpdateException>());
        Assert.That(failure.InnerException!.InnerException, Is.TypeOf<PostgresException>());
        var error = (PostgresException)failure.InnerException.InnerException!;
        Assert.That(error.SqlState, Is.EqualTo(PostgresErrorCodes.SerializationFailure));
        Assert.That(error.ConstraintName, Is.EqualTo("es_events_stream_guard"));
        Assert.That(error.IsTransient, Is.True, "Npgsql's retrying execution strategy retries it");
        await transactionA.RollbackAsync();
        await transactionA.DisposeAsync();

        // The retry (what a retrying execution strategy does): a new transaction, the same still-staged batch.
        await using (var retry = await a.Database.BeginTransactionAsync())
        {
            await SaveAsync(a, async);
            await retry.CommitAsync();
        }

        var events = await ReadStreamAsync(stream);
        Assert.That(events.Select(e => e.EventId), Is.EqualTo(new[] { idB, idA }));
        var all = await ReadAllAsync();
        Assert.That(all.Where(e => e.StreamId == stream).Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }), "read-all agrees with the stream order");
        Assert.That(all.Select(e => e.Checkpoint), Is.Ordered.Ascending);
    }

    [Test]
    public async Task A_serialization_failure_from_the_stream_guard_is_retried_by_Npgsqls_retrying_execution_strategy([Values] bool async)
    {
        var stream = NewStream();
        var idA = Guid.CreateVersion7();
        var idB = Guid.CreateVersion7();
        var options = new DbContextOptionsBuilder<TestDbContext>()
            .UseNpgsql(Fixture.ConnectionString, o => o.EnableRetryOnFailure(maxRetryCount: 3))
            .UseEventSourcing(es => es.UsePostgreSql().AddEvents(typeof(TestDbContext).Assembly))
            .Options;
        var attempts = 0;
        var failures = new List<Exception>();
        await using var a = new TestDbContext(options);

        await a.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            attempts++;
            await using var transaction = await a.Database.BeginTransactionAsync();
            await CurrentTransactionIdAsync(a); // A now holds a transaction id lower than B's
            if (attempts == 1)
            {
                await using (var b = CreateContext())
                {
                    b.Events().Append(stream, ExpectedVersion.NoStream, new EventData(new Deposited(1)) { EventId = idB });
                    await SaveAsync(b, async);
                }

                // Staged once: a failed save keeps the batch staged for the retry.
                a.Events().Append(stream, ExpectedVersion.Exactly(1), new EventData(new Deposited(2)) { EventId = idA });
            }

            try
            {
                await SaveAsync(a, async);
            }
            catch (DbUpdateException ex)
            {
                failures.Add(ex);
                throw;
            }

            await transaction.CommitAsync();
        });

        Assert.That(attempts, Is.EqualTo(2));
        Assert.That(failures, Has.Count.EqualTo(1));
        Assert.That(failures[0], Is.TypeOf<StreamConcurrencyException>());
        Assert.That((failures[0].InnerException?.InnerException as PostgresException)?.SqlState, Is.EqualTo(PostgresErrorCodes.SerializationFailure));
        var events = await ReadStreamAsync(stream);
        Assert.That(events.Select(e => e.EventId), Is.EqualTo(new[] { idB, idA }));
        Assert.That(events.Select(e => e.Version), Is.EqualTo(new long[] { 1, 2 }));
    }

    [Test]
    public async Task An_expected_version_ahead_of_the_stream_is_rejected_by_the_stream_guard_with_ES409([Values] bool async)
    {
        var stream = NewStream();
        await SeedAsync(stream, 2);
        await using var db = CreateContext();
        db.Events().Append(stream, ExpectedVersion.Exactly(5), new Deposited(1));

        var conflict = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(db, async));

        Assert.That(conflict!.ActualVersion, Is.EqualTo(2));
        var error = FindPostgresException(conflict);
        Assert.That(error, Is.Not.Null, "the conflict was detected by the database");
        Assert.That(error!.SqlState, Is.EqualTo("ES409"));
        Assert.That(error.ConstraintName, Is.EqualTo("es_events_stream_guard"));
        Assert.That(await VersionAsync(stream), Is.EqualTo(2));
    }

    [Test]
    public async Task A_lost_race_is_translated_to_StreamConcurrencyException_without_Include_Error_Detail([Values] bool async)
    {
        Assert.That(new NpgsqlConnectionStringBuilder(Fixture.ConnectionString).IncludeErrorDetail, Is.False);
        var stream = NewStream();
        await SeedAsync(stream, 1);
        await using var winner = CreateContext();
        await using var loser = CreateContext();
        winner.Events().Append(stream, ExpectedVersion.Exactly(1), new Deposited(1));
        loser.Events().Append(stream, ExpectedVersion.Exactly(1), new Deposited(2));
        await SaveAsync(winner, async);

        var conflict = Assert.ThrowsAsync<StreamConcurrencyException>(() => SaveAsync(loser, async));

        Assert.That(conflict!.StreamId, Is.EqualTo(stream));
        Assert.That(conflict.ExpectedVersion, Is.EqualTo(ExpectedVersion.Exactly(1)));
        Assert.That(conflict.ActualVersion, Is.EqualTo(2));
        var error = FindPostgresException(conflict);
        Assert.That(error, Is.Not.Null, "the conflict was detected by the unique index");
        Assert.That(error!.SqlState, Is.EqualTo(PostgresErrorCodes.UniqueViolation));
        Assert.That(error.ConstraintName, Is.EqualTo("ux_es_events_stream"));
        Assert.That(error.Detail, Does.StartWith("Detail redacted"), "the error detail is redacted");
        Assert.That(await VersionAsync(stream), Is.EqualTo(2));
    }

    [Test]
    public async Task A_duplicate_event_id_in_another_stream_is_translated_to_DuplicateEventIdException_without_Include_Error_Detail([Values] bool async)
    {
        Assert.That(new NpgsqlConnectionStringBuilder(Fixture.ConnectionString).IncludeErrorDetail, Is.False);
        var first = NewStream();
        var second = NewStream();
        var ids = await SeedAsync(first, 1);
        await using var db = CreateContext();
        db.Events().Append(second, ExpectedVersion.NoStream, new EventData(new Deposited(9)) { EventId = ids[0] });

        var duplicate = Assert.ThrowsAsync<DuplicateEventIdException>(() => SaveAsync(db, async));

        Assert.That(duplicate!.EventId, Is.EqualTo(ids[0]));
        Assert.That(duplicate.StreamId, Is.EqualTo(second));
        Assert.That(duplicate.ExistingStreamId, Is.EqualTo(first));
        Assert.That(duplicate.ExistingVersion, Is.EqualTo(1));
        var error = FindPostgresException(duplicate);
        Assert.That(error, Is.Not.Null, "the clash was detected by the unique index");
        Assert.That(error!.SqlState, Is.EqualTo(PostgresErrorCodes.UniqueViolation));
        Assert.That(error.ConstraintName, Is.EqualTo("ux_es_events_event_id"));
        Assert.That(error.Detail, Does.StartWith("Detail redacted"), "the error detail is redacted");
        Assert.That(await VersionAsync(second), Is.Null);
    }

    [Test]
    public async Task The_events_table_has_the_xid8_column_jsonb_payload_unique_stream_index_and_stream_guard_trigger()
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();

        var columns = new Dictionary<string, (string Type, string? Default, bool Nullable)>();
        await using (var command = new NpgsqlCommand(
            """
            SELECT column_name, udt_name, column_default, is_nullable = 'YES'
              FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = 'es_events'
            """,
            connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                columns[reader.GetString(0)] = (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetBoolean(3));
            }
        }

        Assert.That(columns, Contains.Key("tx_id"));
        Assert.That(columns["tx_id"].Type, Is.EqualTo("xid8"));
        Assert.That(columns["tx_id"].Default, Is.EqualTo("pg_current_xact_id()"));
        Assert.That(columns["tx_id"].Nullable, Is.False);
        Assert.That(columns["payload"].Type, Is.EqualTo("jsonb"));
        Assert.That(columns["metadata"].Type, Is.EqualTo("jsonb"));
        Assert.That(columns["global_position"].Type, Is.EqualTo("int8"));
        Assert.That(columns["sequence"].Type, Is.EqualTo("int8"));

        var indexes = new List<(string Name, bool Unique, string Columns)>();
        await using (var command = new NpgsqlCommand(
            """
            SELECT ic.relname, i.indisunique,
                   (SELECT string_agg(a.attname, ',' ORDER BY k.ord)
                      FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
              FROM pg_index i
              JOIN pg_class ic ON ic.oid = i.indexrelid
             WHERE i.indrelid = 'public.es_events'::regclass
            """,
            connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                indexes.Add((reader.GetString(0), reader.GetBoolean(1), reader.GetString(2)));
            }
        }

        Assert.That(indexes, Does.Contain(("ux_es_events_stream", true, "stream_type,stream_id,sequence")));
        Assert.That(indexes, Does.Contain(("ux_es_events_event_id", true, "event_id")));
        Assert.That(indexes, Does.Contain(("ix_es_events_tx_position", false, "tx_id,global_position")));

        var triggers = new List<(string Name, string Event, string Timing, string Orientation)>();
        await using (var command = new NpgsqlCommand(
            """
            SELECT trigger_name, event_manipulation, action_timing, action_orientation
              FROM information_schema.triggers
             WHERE event_object_schema = 'public' AND event_object_table = 'es_events'
            """,
            connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                triggers.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
            }
        }

        Assert.That(triggers, Is.EqualTo(new[] { ("es_events_stream_guard", "INSERT", "AFTER", "STATEMENT") }));
        await using (var command = new NpgsqlCommand(
            "SELECT tgenabled::text FROM pg_trigger WHERE tgrelid = 'public.es_events'::regclass AND tgname = 'es_events_stream_guard'",
            connection))
        {
            Assert.That(await command.ExecuteScalarAsync(), Is.EqualTo("O"), "the trigger is enabled");
        }
    }

    /// <summary>
    /// Appends one event in a transaction, notes the global position its row got, runs <paramref name="whileOpen"/>
    /// while the transaction is still open, and rolls it back.
    /// </summary>
    private async Task<(long BurnedPosition, Guid EventId, StreamId Stream)> AppendAndRollBackAsync(Func<Task>? whileOpen)
    {
        var stream = NewStream();
        var id = Guid.CreateVersion7();
        await using var a = CreateContext();
        await using var transaction = await a.Database.BeginTransactionAsync();
        a.Events().Append(stream, ExpectedVersion.NoStream, new EventData(new Deposited(1)) { EventId = id });
        await a.SaveChangesAsync();
        var burned = await a.Set<StoredEvent>().Where(e => e.EventId == id).Select(e => e.GlobalPosition).SingleAsync();
        if (whileOpen is not null)
        {
            await whileOpen();
        }

        await transaction.RollbackAsync();
        return (burned, id, stream);
    }

    private async Task AssertNoEventAsync(Guid eventId, StreamId stream)
    {
        await using var db = CreateContext();
        Assert.That(await db.Set<StoredEvent>().AnyAsync(e => e.EventId == eventId), Is.False, "the rolled-back event does not exist");
        Assert.That(await db.Events().GetStreamVersionAsync(stream), Is.Null);
    }

    private async Task<long?> VersionAsync(StreamId stream)
    {
        await using var db = CreateContext();
        return await db.Events().GetStreamVersionAsync(stream);
    }

    private static async Task<ulong> CurrentTransactionIdAsync(DbContext db)
        => ulong.Parse(await ScalarInTransactionAsync(db, "SELECT pg_current_xact_id()::text", null), CultureInfo.InvariantCulture);

    /// <summary>Runs a text-valued scalar query on the context's connection, inside its current transaction.</summary>
    private static async Task<string> ScalarInTransactionAsync(DbContext db, string sql, Guid? id)
    {
        var command = db.Database.GetDbConnection().CreateCommand();
        await using (command)
        {
            command.Transaction = db.Database.CurrentTransaction!.GetDbTransaction();
            command.CommandText = sql;
            if (id is { } value)
            {
                command.Parameters.Add(new NpgsqlParameter<Guid>("id", value));
            }

            return (string)(await command.ExecuteScalarAsync())!;
        }
    }

    private static PostgresException? FindPostgresException(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException postgres)
            {
                return postgres;
            }
        }

        return null;
    }
}
