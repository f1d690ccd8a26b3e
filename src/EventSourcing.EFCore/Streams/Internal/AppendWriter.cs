using EventSourcing.EFCore.Aggregates.Internal;
using EventSourcing.EFCore.Diagnostics.Internal;
using EventSourcing.EFCore.Infrastructure.Internal;
using EventSourcing.EFCore.Storage.Internal;
using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace EventSourcing.EFCore.Streams.Internal;

/// <summary>
/// The events' part of a save: collects the context's staged batches and aggregates' pending events, plans their
/// versions and checks them (<see cref="Begin"/>), adds the event rows (<see cref="Stage"/>), completes the batches when
/// EF accepts the save, and turns a store's rejection into the library's typed exception (<see cref="Fail"/>).
/// </summary>
internal sealed class AppendWriter(EventStoreSession session, IEventStoreBackend backend, EventSourcingLoggers loggers) : ISaveParticipant
{
    private readonly List<Action> _versionRestores = [];

    /// <summary>
    /// Plans the save's appends and checks what can be checked before writing (under the in-process guard where the
    /// database enforces no unique index). Returns the save in progress, or null when the save appends nothing.
    /// </summary>
    public SaveInProgress? Begin(DbContext context)
    {
        DetectChangesBeforeGuard(context);
        var batches = AggregateDrain.Collect(context, session);
        if (batches.Count == 0 && session.SnapshotRequests.Count == 0)
        {
            return null;
        }

        EventStoreModel.Get(context.Model); // throws when IncludeEventStore() was not called
        var telemetry = SaveTelemetry.Start(context, batches);
        var guard = backend.EnforcesUniqueIndexes ? null : InProcessAppendGuard.Enter();
        Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction? own = null;
        try
        {
            if (AnyStreams(batches) is { Count: > 0 } locked && CanLock(context, out var begin))
            {
                own = begin ? context.Database.BeginTransaction() : null;
                backend.LockStreams(context, locked);
            }

            var plan = AppendPlan.Create(batches, StoreProbe.ReadVersions(context, AppendPlan.StreamsToRead(batches, all: guard is not null)));
            if (guard is not null || plan.HasKnownConflict)
            {
                var conflict = AppendConflictClassifier.Classify(
                    batches,
                    guard is not null ? ReadKnown(plan) : StoreProbe.ReadVersions(context, Streams(batches)),
                    StoreProbe.ReadLocations(context, EventIds(batches)),
                    innerException: null);
                ThrowIfConflict(conflict, plan);
            }

            return session.InProgress = new SaveInProgress(plan, guard) { OwnTransaction = own, Telemetry = telemetry };
        }
        catch (Exception exception)
        {
            telemetry?.Failed(exception);
            guard?.Dispose();
            own?.Dispose();
            throw;
        }
    }

    /// <inheritdoc cref="Begin"/>
    public async Task<SaveInProgress?> BeginAsync(DbContext context, CancellationToken cancellationToken)
    {
        DetectChangesBeforeGuard(context);
        var batches = AggregateDrain.Collect(context, session);
        if (batches.Count == 0 && session.SnapshotRequests.Count == 0)
        {
            return null;
        }

        EventStoreModel.Get(context.Model); // throws when IncludeEventStore() was not called
        var telemetry = SaveTelemetry.Start(context, batches);
        var guard = backend.EnforcesUniqueIndexes ? null : await InProcessAppendGuard.EnterAsync(cancellationToken).ConfigureAwait(false);
        Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction? own = null;
        try
        {
            if (AnyStreams(batches) is { Count: > 0 } locked && CanLock(context, out var begin))
            {
                own = begin ? await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false) : null;
                await backend.LockStreamsAsync(context, locked, cancellationToken).ConfigureAwait(false);
            }

            var toRead = AppendPlan.StreamsToRead(batches, all: guard is not null);
            var plan = AppendPlan.Create(batches, await StoreProbe.ReadVersionsAsync(context, toRead, cancellationToken).ConfigureAwait(false));
            if (guard is not null || plan.HasKnownConflict)
            {
                var conflict = AppendConflictClassifier.Classify(
                    batches,
                    guard is not null ? ReadKnown(plan) : await StoreProbe.ReadVersionsAsync(context, Streams(batches), cancellationToken).ConfigureAwait(false),
                    await StoreProbe.ReadLocationsAsync(context, EventIds(batches), cancellationToken).ConfigureAwait(false),
                    innerException: null);
                ThrowIfConflict(conflict, plan);
            }

            return session.InProgress = new SaveInProgress(plan, guard) { OwnTransaction = own, Telemetry = telemetry };
        }
        catch (Exception exception)
        {
            telemetry?.Failed(exception);
            guard?.Dispose();
            if (own is not null)
            {
                await own.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>Commits the transaction the save began for its <see cref="ExpectedVersion.Any"/> streams, once EF wrote it.</summary>
    public static void CommitOwnTransaction(SaveInProgress save)
    {
        if (save.OwnTransaction is { } own)
        {
            save.OwnTransaction = null;
            using (own)
            {
                own.Commit();
            }
        }
    }

    /// <inheritdoc cref="CommitOwnTransaction"/>
    public static async Task CommitOwnTransactionAsync(SaveInProgress save, CancellationToken cancellationToken)
    {
        if (save.OwnTransaction is { } own)
        {
            save.OwnTransaction = null;
            await using (own.ConfigureAwait(false))
            {
                await own.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes the new version of aggregates that are EF entities mapping it (the event rows are placed by <see cref="Place"/>).</summary>
    public void Stage(DbContext context, SaveInProgress save)
    {
        var plan = save.Plan;
        _versionRestores.Clear();
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            var batch = plan.Batches[i];
            if (batch.SourceEntry is { State: not EntityState.Deleted }
                && batch.SourceEntry.Metadata.FindProperty(nameof(IEventSourcedAggregate.Version)) is { ClrType: var type } property && type == typeof(long))
            {
                // An EF entity that maps its Version: write the new version in this same save (the interceptor runs
                // before DetectChanges), and put the old one back if the save does not happen.
                var versionEntry = batch.SourceEntry!.Property(property);
                var old = versionEntry.CurrentValue;
                versionEntry.CurrentValue = plan.ResultVersions[i];
                _versionRestores.Add(() => versionEntry.CurrentValue = old);
            }

        }
    }

    /// <summary>
    /// Once every participant staged its part: a save that changes nothing but its event rows writes them itself
    /// (<see cref="Write"/>) when the backend can; any other save tracks them for EF's update pipeline — every row, or
    /// only the first when the backend's command batch carries the others (PostgreSQL).
    /// </summary>
    public void Place(DbContext context, SaveInProgress save, bool? acceptAllChangesOnSuccess)
    {
        var model = EventStoreModel.Get(context.Model);
        if (WritesDirectly(context, save, model, acceptAllChangesOnSuccess))
        {
            save.WritesDirectly = true;
            return;
        }

        var rows = Rows(save.Plan);
        save.Rows = rows;
        var carried = rows.Count > 1 && backend.CarriesEventRows(model);
        var set = context.Set<StoredEvent>();
        foreach (var row in carried ? rows.Take(1) : rows)
        {
            save.Entries.Add(set.Add(row));
        }

        save.TrackedRows = carried ? 1 : rows.Count;
    }

    /// <summary>The event rows of the planned batches, in staging order.</summary>
    private static List<StoredEvent> Rows(AppendPlan plan)
    {
        var rows = new List<StoredEvent>(plan.EventCount);
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            var batch = plan.Batches[i];
            var version = plan.FirstVersions[i];
            foreach (var e in batch.Events)
            {
                rows.Add(new StoredEvent
                {
                    StreamType = batch.StreamId.Type,
                    StreamId = batch.StreamId.Id,
                    Sequence = version++,
                    EventId = e.EventId,
                    EventType = e.EventType,
                    EventVersion = e.EventTypeVersion,
                    Payload = e.Payload,
                    Metadata = e.Metadata,
                    CreatedAt = e.Timestamp,
                });
            }
        }

        return rows;
    }

    /// <summary>
    /// Writes the event rows of a save placed to write directly, under the context's execution strategy (as EF runs its
    /// own batch: a retrying strategy retries the statement); a database error is wrapped in a
    /// <see cref="DbUpdateException"/> as EF's update pipeline wraps it.
    /// </summary>
    public void Write(DbContext context, SaveInProgress save)
        => context.Database.CreateExecutionStrategy().Execute(
            (Backend: backend, Model: EventStoreModel.Get(context.Model), save.Plan),
            static (context, s) =>
            {
                try
                {
                    s.Backend.WriteEventRows(context, s.Model, s.Plan);
                }
                catch (Exception exception) when (exception is not (DbUpdateException or OperationCanceledException))
                {
                    throw new DbUpdateException(Messages.EventRowsNotSaved, exception);
                }

                return true;
            },
            verifySucceeded: null);

    /// <inheritdoc cref="Write"/>
    public Task WriteAsync(DbContext context, SaveInProgress save, CancellationToken cancellationToken)
        => context.Database.CreateExecutionStrategy().ExecuteAsync(
            (Backend: backend, Model: EventStoreModel.Get(context.Model), save.Plan),
            static async (context, s, cancellationToken) =>
            {
                try
                {
                    await s.Backend.WriteEventRowsAsync(context, s.Model, s.Plan, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not (DbUpdateException or OperationCanceledException))
                {
                    throw new DbUpdateException(Messages.EventRowsNotSaved, exception);
                }

                return true;
            },
            verifySucceeded: null,
            cancellationToken);

    /// <summary>
    /// A save writes its event rows itself when all of this holds, so that what EF and the caller observe is what EF's
    /// own pipeline gives: the backend can; the caller's SaveChanges accepts its changes on success (a save with
    /// <c>acceptAllChangesOnSuccess: false</c> is settled by <c>AcceptAllChanges</c>, which needs tracked rows); no
    /// other participant added rows and nothing else in the change tracker changed; no transaction of the caller's is
    /// open (EF would wrap its batch in a savepoint, so that a rejected save leaves the transaction usable) and none is
    /// ambient; and the user registered no SaveChanges or command interceptor (the command does not go through EF's
    /// command pipeline, and its failure is reported from SavingChanges, which EF does not pass to SaveChangesFailed).
    /// </summary>
    private bool WritesDirectly(DbContext context, SaveInProgress save, EventStoreModel model, bool? acceptAllChangesOnSuccess)
    {
        if (acceptAllChangesOnSuccess != true
            || save.Plan.EventCount == 0
            || save.Entries.Count > 0
            || save.RestoreProjections is not null
            || _versionRestores.Count > 0
            || context.Database.CurrentTransaction is { } transaction && !ReferenceEquals(transaction, save.OwnTransaction)
            || System.Transactions.Transaction.Current is not null
            || context.GetService<Microsoft.EntityFrameworkCore.Diagnostics.IInterceptors>() is not EventSourcingInterceptors { HasUserSaveOrCommandInterceptors: false }
            || !backend.WritesEventRows(context, model))
        {
            return false;
        }

        // Changes were detected just before (see SaveParticipants), so this only reads the entries' states.
        return !context.ChangeTracker.HasChanges();
    }

    /// <inheritdoc cref="Stage"/>
    public Task StageAsync(DbContext context, SaveInProgress save, CancellationToken cancellationToken)
    {
        Stage(context, save);
        return Task.CompletedTask;
    }

    /// <summary>Completes and unstages the saved batches and tells their aggregates.</summary>
    public void Accept(SaveInProgress save)
    {
        _versionRestores.Clear();
        var plan = save.Plan;
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            var batch = plan.Batches[i];
            batch.Complete(plan.ResultVersions[i]);
            session.Unstage(batch);
            batch.Source?.OnEventsSaved(plan.ResultVersions[i]);
            if (batch.Events.Count > 0)
            {
                loggers.Streams.EventsAppended(batch.StreamId, plan.FirstVersions[i], plan.ResultVersions[i]);
            }
        }
    }

    /// <summary>
    /// Puts back the versions written on aggregates that are EF entities and rolls back the save's own transaction;
    /// the batches stay staged.
    /// </summary>
    public void Abandon(SaveInProgress save)
    {
        save.OwnTransaction?.Dispose();
        save.OwnTransaction = null;
        foreach (var restore in _versionRestores)
        {
            restore();
        }

        _versionRestores.Clear();
    }

    /// <summary>Returns the typed exception to raise instead of <paramref name="exception"/> for a failed save, or null.</summary>
    public Exception? Fail(DbContext context, SaveInProgress? save, Exception exception)
    {
        if (save is null || Unwrap(exception) is not { } update || save.Plan.Batches.Count == 0)
        {
            return null;
        }

        var batches = save.Plan.Batches;
        var state = backend.ReadAfterFailure(context, EventStoreModel.Get(context.Model), Streams(batches), EventIds(batches));
        return Classify(context, save, update, state);
    }

    /// <inheritdoc cref="Fail"/>
    public async Task<Exception?> FailAsync(DbContext context, SaveInProgress? save, Exception exception, CancellationToken cancellationToken)
    {
        if (save is null || Unwrap(exception) is not { } update || save.Plan.Batches.Count == 0)
        {
            return null;
        }

        var batches = save.Plan.Batches;
        var state = await backend.ReadAfterFailureAsync(context, EventStoreModel.Get(context.Model), Streams(batches), EventIds(batches), cancellationToken)
            .ConfigureAwait(false);
        return Classify(context, save, update, state);
    }

    /// <summary>
    /// Classifies a rejected save that staged events. A rejection by the event store's own rows is always an append
    /// conflict. Any other database rejection (for example the primary key of a read-model row that an inline projection
    /// inserts for a new stream, hit first when two writers race to create the stream) is still reported as the append
    /// conflict when the streams' versions show one; otherwise the database's own exception stands.
    /// </summary>
    private Exception? Classify(DbContext context, SaveInProgress save, DbUpdateException update, StoreState state)
    {
        var batches = save.Plan.Batches;
        var conflict = AppendConflictClassifier.Classify(batches, state.Versions, state.Locations, update);
        if (IsStoreConflict(update, context))
        {
            return Logged(conflict ?? Fallback(save, update, state.Versions));
        }

        return conflict is null ? null : Logged(conflict);
    }

    /// <summary>
    /// Returns the database's rejection of the save: the <see cref="DbUpdateException"/> itself, or the one a provider's
    /// execution strategy wrapped because it is transient (Npgsql wraps a serialization failure, 40001, raised by the
    /// stream guard, in an <see cref="InvalidOperationException"/>).
    /// </summary>
    private static DbUpdateException? Unwrap(Exception exception)
        => exception as DbUpdateException ?? (exception as InvalidOperationException)?.InnerException as DbUpdateException;

    /// <summary>
    /// Under the in-process guard, runs EF's DetectChanges before the guard is taken: EF runs it after SavingChanges and
    /// outside the part of SaveChanges that reports an outcome, so a DetectChanges that throws there would leave the
    /// guard held. The participants run it once more, still inside their failure handling, after staging.
    /// </summary>
    private void DetectChangesBeforeGuard(DbContext context)
    {
        if ((!backend.EnforcesUniqueIndexes || backend.LocksStreams && session.Staged.Any(b => b.ExpectedVersion.IsAny))
            && context.ChangeTracker.AutoDetectChangesEnabled)
        {
            context.ChangeTracker.DetectChanges();
        }
    }

    /// <summary>The streams a save appends to with <see cref="ExpectedVersion.Any"/>, to lock when the backend can.</summary>
    private List<StreamId>? AnyStreams(IReadOnlyList<PendingAppend> batches)
        => backend.LocksStreams ? batches.Where(b => b.ExpectedVersion.IsAny && b.Events.Count > 0).Select(b => b.StreamId).Distinct().ToList() : null;

    /// <summary>
    /// Returns true when the save can lock its <see cref="ExpectedVersion.Any"/> streams: in the caller's transaction, or
    /// in one the save begins itself (<paramref name="begin"/>) — but not under a retrying execution strategy, which
    /// refuses a transaction it did not begin.
    /// </summary>
    private static bool CanLock(DbContext context, out bool begin)
    {
        begin = context.Database.CurrentTransaction is null;
        return !begin || !context.Database.CreateExecutionStrategy().RetriesOnFailure;
    }

    private void ThrowIfConflict(Exception? conflict, AppendPlan plan)
    {
        if (conflict is not null)
        {
            throw Logged(conflict);
        }

        if (plan.HasKnownConflict)
        {
            throw new InvalidOperationException("The append plan found a version conflict that the classifier did not confirm.");
        }
    }

    /// <summary>
    /// Returns true when the store rejected the save because of the event store's own rows: its unique indexes or guard,
    /// or a snapshot row that a concurrent writer of the same stream wrote or deleted first.
    /// </summary>
    private bool IsStoreConflict(DbUpdateException exception, DbContext context)
        => backend.IsEventStoreConflict(exception, EventStoreModel.Get(context.Model))
           || exception.Entries.Any(e => e.Entity is StoredSnapshot);

    private static Dictionary<StreamId, long> ReadKnown(AppendPlan plan)
    {
        // Under the in-process guard every stream's version was read for the plan; recover them from the plan.
        var versions = new Dictionary<StreamId, long>();
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            versions.TryAdd(plan.Batches[i].StreamId, plan.FirstVersions[i] - 1);
        }

        return versions;
    }

    private static HashSet<StreamId> Streams(IReadOnlyList<PendingAppend> batches) => batches.Select(b => b.StreamId).ToHashSet();

    private static Guid[] EventIds(IReadOnlyList<PendingAppend> batches) => batches.SelectMany(b => b.Events).Select(e => e.EventId).ToArray();

    /// <summary>
    /// A store conflict the classifier could not attribute (the conflicting row is no longer visible): report a version
    /// conflict on the stream of the rejected row.
    /// </summary>
    private static StreamConcurrencyException Fallback(SaveInProgress save, DbUpdateException exception, Dictionary<StreamId, long> versions)
    {
        var rejected = exception.Entries.Select(e => e.Entity).OfType<StoredEvent>().FirstOrDefault();
        var batch = save.Plan.Batches.FirstOrDefault(b => rejected is not null && b.StreamId.Type == rejected.StreamType && b.StreamId.Id == rejected.StreamId)
                    ?? save.Plan.Batches[0];
        var actual = versions.GetValueOrDefault(batch.StreamId);
        return new StreamConcurrencyException(batch.StreamId, batch.ExpectedVersion, actual == 0 ? null : actual, exception);
    }

    private Exception Logged(Exception conflict)
    {
        loggers.Streams.AppendConflict(conflict);
        return conflict;
    }
}
