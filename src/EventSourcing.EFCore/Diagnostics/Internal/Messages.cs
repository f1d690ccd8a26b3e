namespace EventSourcing.EFCore.Diagnostics.Internal;

/// <summary>Every message the library puts in an exception, in one place.</summary>
internal static class Messages
{
    public const string DefaultStreamId = "The stream id is default(StreamId); create one with new StreamId(type, id).";

    public const string EventRowsNotSaved = "An error occurred while saving the event rows. See the inner exception for details.";

    public const string NotACheckpoint = "The object is not a GlobalCheckpoint.";

    public const string EventStoreNotInModel =
        "The event store is not part of this DbContext's model. Call modelBuilder.IncludeEventStore() in OnModelCreating "
        + "and add a migration (dotnet ef migrations add AddEventStore).";

    public const string RelationalProviderNeedsBackend =
        "UseEventSourcing is configured on a relational database provider without a backend. On PostgreSQL call "
        + "UseEventSourcing(es => es.UsePostgreSql()) (package EventSourcing.EFCore.PostgreSQL); other relational providers are not supported.";

    public const string IncludeEventStoreWithoutUseEventSourcing =
        "modelBuilder.IncludeEventStore() is called for a DbContext whose options lack UseEventSourcing: its saves would write "
        + "the entities and drop their events. Call optionsBuilder.UseEventSourcing(es => ...) where the context is configured "
        + "(AddDbContext, OnConfiguring, and the design-time factory used by dotnet ef), on PostgreSQL "
        + "UseEventSourcing(es => es.UsePostgreSql()).";

    public static string ImportWouldSkip(StreamId streamId, long version, string eventType, string feature)
        => $"The import of event '{eventType}' at version {version} of stream '{streamId}' would skip {feature}: an import writes only "
           + "the events (no outbox messages, inline projection updates or snapshots). Nothing was written. Append these events "
           + "through SaveChanges, or import with ImportWritePathFeatures.Skip to write them without (and rebuild what depends on them).";

    public static string EventSourcingNotConfigured(Type contextType)
        => $"The DbContext '{contextType.Name}' is not configured for event sourcing. Call optionsBuilder.UseEventSourcing(es => ...) "
           + "when configuring it (AddDbContext or OnConfiguring), and modelBuilder.IncludeEventStore() in OnModelCreating.";

    public static string OptionOutOfRange(string optionsType, string option, object? value, string rule)
        => $"{optionsType}.{option} is {(value is null ? "null" : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture))}; it must be {rule}.";

    public static string ValueTooLong(string field, int length, int max) => $"The {field} is {length} characters long; at most {max} are allowed.";

    public static string ControlCharacter(string field) => $"The {field} contains control characters.";

    public static string InvalidCheckpoint(string text) => $"'{text}' is not a checkpoint; expected 'transactionId:position' as written by GlobalCheckpoint.ToString().";

    public static string StreamConcurrency(StreamId streamId, ExpectedVersion expected, long? actual)
        => $"Stream '{streamId}' was expected at version {expected} but is at {(actual is { } v ? "version " + v : "no version (it has no events)")}. "
           + (expected.Version is { } e && e > (actual ?? 0)
               ? "The expected version is ahead of the stream: the events it counts on were never written (or were rolled back); reload the stream before appending."
               : expected.Version is { } same && same == (actual ?? 0)
                   ? "Another writer appended to the stream in a transaction that committed after this one began: retry the whole transaction (the error is transient)."
                   : "Another writer appended first: reload the stream and retry.");

    public static string VersionOverflow(StreamId streamId, long from, int count)
        => $"Appending {count} event(s) to stream '{streamId}' after version {from} would exceed the largest version ({long.MaxValue}); nothing was staged.";

    public static string LoneSurrogate(string field) => $"The {field} contains a lone UTF-16 surrogate (half of a character), which cannot be stored as UTF-8.";

    public static string NulCharacter(string where) => $"{where} contains the character U+0000 (NUL), which PostgreSQL jsonb cannot store";

    public static string StreamNotFound(StreamId streamId) => $"Stream '{streamId}' has no events, but the append expected it to exist (ExpectedVersion.StreamExists).";

    public static string EventsAlreadyAppended(StreamId streamId, long first, long last, long current)
        => $"The events are already stored in stream '{streamId}' at versions {first}..{last} (the stream is at version {current}); nothing was written.";

    public static string DuplicateEventId(Guid eventId, StreamId streamId, StreamId existingStream, long existingVersion)
        => $"Event id {eventId} appended to stream '{streamId}' is already stored in stream '{existingStream}' at version {existingVersion}; nothing was written.";

    public static string UnknownEventClrType(Type type)
        => $"The event type '{type.FullName}' is not registered. Give it [EventType(\"name\")] and call es.AddEvents(assembly), or call es.MapEvent<{type.Name}>(\"name\").";

    public static string UnknownEventTypeName(string name)
        => $"A stored event has type name '{name}', which no registered event type has. Register the type under that name (AddEvents or MapEvent).";

    public static string EventValidation(StreamId streamId, int index, string field, string reason)
        => $"Event {index} of the batch for stream '{streamId}' is invalid: {field}: {reason}. Nothing was written.";

    public static string EventTypeMappedTwice(Type type, string first, string second)
        => $"The event type '{type.FullName}' is registered under two names, '{first}' and '{second}'; a type has one stored name.";

    public static string EventTypeVersionedTwice(Type type, string name, int first, int second)
        => $"The event type '{type.FullName}' is registered under '{name}' with two versions, {first} and {second}; a type has one version.";

    public static string EventNameClash(string name, int version, Type first, Type second)
        => $"The event types '{first.FullName}' and '{second.FullName}' are both registered under the name '{name}' with version {version}; "
           + "each name and version has exactly one type (give the older type its own version and an upcaster to the newer one).";

    public static string UnusableEventName(Type type, string? name, string problem)
        => $"The event type '{type.FullName}' has no usable stored name ('{name}'): {problem}.";

    public static string EventTypeNotConcrete(Type type) => $"The event type '{type.FullName}' is abstract, an interface or an open generic; register concrete types.";

    public static string EventVersionInvalid(Type type, int version) => $"The event type '{type.FullName}' has version {version}; versions start at 1.";

    public static string MaxEventSizeInvalid(int size) => $"MaxEventSize is {size}; it must be at least 1 byte.";

    public static string DuplicateIdInBatch(StreamId streamId, Guid id, int index)
        => $"Event {index} of the batch for stream '{streamId}' repeats event id {id}; ids must be unique within a batch. Nothing was written.";

    public static string TooLarge(int size, int max) => $"it is {size} bytes as JSON, over the limit of {max} bytes (MaxEventSize)";

    public static string GuardTimeout(TimeSpan timeout)
        => $"Waited {timeout.TotalSeconds:0} s for the in-process append lock of the EF InMemory event store; another context's SaveChanges did not finish.";

    public static string StreamGap(StreamId streamId, long expected, long found)
        => $"Stream '{streamId}' has no event at version {expected}; the next stored version is {found}. Stream versions must be gapless.";

    public static string UnreadableEnvelope(long position, string reason) => $"The event at position {position} has an invalid stream id: {reason}";

    public static string UnknownJsonbFormat(long position, string column, int version)
        => $"The event at position {position} has a '{column}' value in jsonb binary format version {version}; only version 1 can be read.";

    public static string WrongStream(StreamId expected, StreamId found, long position)
        => $"Reading stream '{expected}' returned the event at position {position}, which belongs to stream '{found}'.";

    public static string UnreadableEvent(StreamId streamId, long version, long position, string type, string reason)
        => $"The event at version {version} of stream '{streamId}' (global position {position}, type '{type}') cannot be read: {reason}";

    public static string UnreadableOutboxHeaders(long outboxId, StreamId streamId, long version, string type, string reason)
        => $"The headers of outbox message {outboxId} (event version {version} of stream '{streamId}', type '{type}') cannot be read: {reason}";

    public static string UnreadableMetadata(StreamId streamId, long version, long position, string type, string reason)
        => $"The metadata of the event at version {version} of stream '{streamId}' (global position {position}, type '{type}') cannot be read: {reason}";

    public static string EventContractProblem(Type eventType, string name, string path, string reason)
        => $"{eventType.FullName} ('{name}'), member {path}: {reason}.";

    public static string EventContractsBroken(IReadOnlyList<string> problems)
        => "Registered event types cannot round-trip through the JSON serializer options; events of these types would be written and then read back "
           + "wrong or not at all:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p));

    public static string CheckpointTransactionIdAhead(string projection, GlobalCheckpoint checkpoint, ulong highest, ulong next)
        => $"Projection '{projection}' cannot read the store: a stored transaction id ({highest}) is not below the database's next transaction id ({next}); "
           + $"its checkpoint is {checkpoint}. The store was restored or replicated into another cluster, and new events would be ordered before the old ones. "
           + "Rebase the stored transaction ids and the checkpoints (RebaseCheckpointAsync) as the projections documentation describes.";

    public static string CheckpointFromAnotherCluster(string projection, GlobalCheckpoint checkpoint, long stored, long current)
        => $"Projection '{projection}' cannot read the store: its checkpoint {checkpoint} was written by the database cluster {stored}, and this "
           + $"is cluster {current}. Transaction ids mean nothing across clusters (pg_dump/restore, logical-replication cut-over), so catch-up could "
           + "skip or repeat events. Rebase the stored transaction ids and the checkpoints (RebaseCheckpointAsync) as the operations documentation describes.";

    public static string RebasePositionNotFound(string projection, long position)
        => $"Cannot rebase projection '{projection}' to global position {position}: no event is stored at that position.";

    public static string AppendNotSaved(StreamId streamId) => $"SaveChanges completed without writing the batch for stream '{streamId}'.";

    public static string AggregateNotFound(Type type, StreamId streamId, long? version)
        => version is { } v
            ? $"The {type.Name} aggregate in stream '{streamId}' has no version {v}."
            : $"No {type.Name} aggregate exists in stream '{streamId}' (the stream has no events).";

    public static string EventHandlerMissing(Type aggregate, Type eventType)
        => $"The aggregate '{aggregate.FullName}' has no handler for event '{eventType.FullName}'. Add an Apply({eventType.Name}) method or call On<{eventType.Name}>(...) in its constructor.";

    public static string ReadOnlyAggregate(StreamId streamId)
        => $"The aggregate of stream '{streamId}' is a read-only point-in-time view; load it with LoadAsync(id) to change it.";

    public static string AggregateIdNotSet(Type type)
        => $"The {type.Name} aggregate has no Id. Set Id in the Apply method of its creation event before raising further events or saving it.";

    public static string NoParameterlessConstructor(Type type)
        => $"The aggregate type '{type.FullName}' needs a parameterless constructor (any accessibility) so that it can be rehydrated from its events.";

    public static string UnusableAggregateName(Type type, string? name, string problem)
        => $"The aggregate type '{type.FullName}' has no usable stream type ('{name}'): {problem}.";

    public static string AggregateAlreadyTracked(StreamId streamId)
        => $"Another aggregate instance of stream '{streamId}' is already tracked by this context; use the instance LoadAsync returned.";

    public static string TimestampNotUtc(string field) => $"The {field} must be UTC (offset zero).";

    public static string NotRehydratable(Type type)
        => $"The type '{type.FullName}' cannot be loaded from its events; derive it from AggregateRoot<TId>.";

    public static string AggregateStreamMismatch(Type type, StreamId read, StreamId result)
        => $"Replaying stream '{read}' produced a {type.Name} whose stream is '{result}'; its creation event must set Id to the id it was stored under.";

    public static string SnapshotNotSupported(Type type)
        => $"The type '{type.FullName}' cannot be snapshotted; snapshots are taken of aggregates derived from AggregateRoot<TId>.";

    public static string SnapshotEveryInvalid(long events) => $"SnapshotEvery needs a number of events of at least 1 (got {events}).";

    public static string SnapshotNotSerializable(StreamId streamId, Type type, string reason)
        => $"The state of the {type.Name} aggregate in stream '{streamId}' cannot be serialized for a snapshot: {reason} Mark fields the snapshot must not hold [NonSerialized] (use [field: NonSerialized] on an auto-property), or configure System.Text.Json for their types.";

    public static string SnapshotWrittenByOtherType(string snapshotType) => $"it was written by aggregate type '{snapshotType}'.";

    public static string SnapshotVersionChanged(int stored, int current) => $"its snapshot version is {stored}, the aggregate's is {current}.";

    public static string SnapshotShapeChanged(string stored, string current)
        => $"the aggregate's fields changed since it was written (fingerprint {stored}, now {current}).";

    public static string SnapshotOfOtherStream(StreamId streamId) => $"its state belongs to stream '{streamId}'.";

    public static string SnapshotUnreadable(string reason) => "its state could not be deserialized: " + reason;

    public static string ProjectionCannotReset(string projection)
        => $"Projection '{projection}' cannot be rebuilt: override ResetAsync (or call OnReset in the function form) to clear its read model.";

    public static string ProjectionHandlerTwice(string projection, Type eventType)
        => $"Projection '{projection}' already has a handler for '{eventType.Name}'; register one handler per event type.";

    public static string ProjectionContextMismatch(string projection, Type expected, Type actual)
        => $"Projection '{projection}' works on a {expected.Name}, but it is registered on a {actual.Name}; register it where {expected.Name} is configured.";

    public static string ProjectionNameTaken(string projection)
        => $"A projection named '{projection}' is already registered; projection names must be unique (they key the checkpoints).";

    public static string ProjectionNotRegistered(string projection)
        => $"No catch-up projection named '{projection}' is registered on this context. Call es.AddProjection<T>() in UseEventSourcing(es => ...).";

    public static string ProjectionIsInline(string projection)
        => $"Projection '{projection}' is registered inline: it runs inside SaveChanges and has no checkpoint. Register it with es.AddProjection<T>() to catch it up.";

    public static string InlineProjectionNotSynchronous(string projection, string eventType)
        => $"The handler of inline projection '{projection}' for '{eventType}' did not complete synchronously, so it cannot run in a synchronous "
           + "SaveChanges. Call SaveChangesAsync, or register a synchronous handler (On<TEvent>((db, e, envelope) => ...)).";

    public const string ProjectionContextHasChanges =
        "Catching up or rebuilding a projection saves the context it runs on, which has unsaved changes or staged events. "
        + "Save them first, or use a separate context for projections.";

    public static string ProjectionCannotRead(string projection, EventDeserializationException inner, GlobalCheckpoint checkpoint)
        => $"Projection '{projection}' cannot read event {inner.StreamId}@{inner.Version} (type '{inner.EventType}', position {inner.GlobalPosition}), "
           + $"a type it handles; its checkpoint stays at {checkpoint}. Fix the event type or its stored row, or set the projection's "
           + $"ErrorPolicy to DeadLetter to record such events and carry on. {inner.InnerException?.GetType().Name}: {inner.InnerException?.Message}";

    public static string DeadLetterEventMissing(string projection, long position)
        => $"The event at global position {position}, dead-lettered by projection '{projection}', is no longer stored.";

    public static string ProjectionFailed(string projection, RecordedEvent envelope, GlobalCheckpoint? checkpoint, Exception inner)
        => $"Projection '{projection}' failed on event {envelope.StreamId}@{envelope.Version} (type '{envelope.EventType}', "
           + (checkpoint is { } c
               ? $"position {envelope.GlobalPosition}); its checkpoint stays at {c}. "
               : "inline, position not yet assigned); nothing was written. ")
           + $"{inner.GetType().Name}: {inner.Message}";

    public static string ProjectionPrefetchFailed(string projection, RecordedEvent first, int count, GlobalCheckpoint? checkpoint, Exception inner)
        => $"The prefetch hook of projection '{projection}' failed on a batch of {count} event(s) starting at {first.StreamId}@{first.Version} "
           + (checkpoint is { } c
               ? $"(position {first.GlobalPosition}); nothing of the batch was saved and its checkpoint stays at {c}, whatever its ErrorPolicy. "
               : "(inline); nothing was written. ")
           + $"{inner.GetType().Name}: {inner.Message}";

    public static string InlinePrefetchNotSynchronous(string projection)
        => $"The prefetch hook of inline projection '{projection}' did not complete synchronously, so it cannot run in a synchronous "
           + "SaveChanges. Call SaveChangesAsync, or make the hook complete synchronously (for example with Load() instead of LoadAsync()).";

    public static string OutboxNotConfigured(Type contextType)
        => $"The DbContext '{contextType.Name}' has no outbox. Call UseEventSourcing(es => es.UseOutbox(o => o.PublishAll(\"destination\"))) "
           + "(or Publish<TEvent>(...)) when configuring it.";

    public const string OutboxContextBusy =
        "The outbox dispatches, requeues and cleans up on a context without an open transaction, unsaved changes or staged events "
        + "(its own work is committed separately). Use a fresh context, or SaveChanges / commit first.";

    // ---------------------------------------------------------------- upcasting (schema evolution)

    public static string UnknownEventTypeVersion(string name, int version)
        => $"A stored event has type name '{name}' with version {version}, which neither the current type of '{name}' nor an upcaster reads. "
           + $"Register an upcaster from version {version} (es.Upcast), or read it with the newer release that wrote it.";

    public static string UpcasterTypeNotRegistered(Type type, string role)
        => $"The upcaster's {role} type '{type.FullName}' is not a registered event type. Give it [EventType(\"name\", Version = n)] "
           + $"(under the same name as the other type of the upcaster) and call es.AddEvents(assembly), or call es.MapEvent<{type.Name}>(\"name\", n).";

    public static string UpcasterTypesDiffer(Type from, string fromName, Type to, string toName)
        => $"The upcaster from '{from.FullName}' ('{fromName}') to '{to.FullName}' ('{toName}') joins two event type names; an upcaster moves "
           + "one name to a higher version. To rename a type, register the old name as an alias (MapEvent(name, aliases: old) or [EventTypeAlias]).";

    public static string UpcasterNameUnknown(string name)
        => $"An upcaster is registered for the event type name '{name}', which no registered event type has. Register the current type of '{name}' "
           + "(AddEvents or MapEvent); an upcaster produces the current version of a registered type.";

    public static string UpcasterNameIsAlias(string alias, string name)
        => $"An upcaster is registered for '{alias}', which is an alias of '{name}'. Register it for '{name}': rows stored under the alias keep their "
           + "version and go through the upcasters of the current name.";

    public static string UpcasterNameObsolete(string name)
        => $"An upcaster is registered for '{name}', which is declared obsolete; obsolete events are not upcast. Remove one of the two.";

    public static string UpcasterBackwards(string name, int from, int to)
        => $"The upcaster of '{name}' from version {from} to version {to} does not move to a higher version; a chain must only go up "
           + "(one that goes back or stays would cycle).";

    public static string UpcasterVersionInvalid(string name, int version)
        => $"An upcaster of '{name}' starts at version {version}; versions start at 1.";

    public static string UpcasterBeyondCurrent(string name, int from, int to, int current, Type currentType)
        => $"The upcaster of '{name}' from version {from} to version {to} goes beyond the current version {current} ('{currentType.FullName}'). "
           + $"Register the type of version {to} (or lower the upcaster's target).";

    public static string UpcasterTwice(string name, int from, int firstTo, int secondTo)
        => $"'{name}' has two upcasters from version {from} (to version {firstTo} and to version {secondTo}); each stored version has one way up.";

    public static string UpcasterChainGap(string name, int start, int stop, int current, Type currentType)
        => $"The upcaster chain of '{name}' from version {start} stops at version {stop}: no upcaster from version {stop}, so it never reaches "
           + $"the current version {current} ('{currentType.FullName}'). Register an upcaster from version {stop}.";

    public static string OlderVersionUnreachable(string name, int version, Type type, int current, Type currentType)
        => $"Version {version} of '{name}' ('{type.FullName}') cannot reach the current version {current} ('{currentType.FullName}'): "
           + $"no upcaster from version {version}. Register one (es.Upcast<{type.Name}, …>(…) or es.Upcast(\"{name}\", {version}, …)).";

    public static string AliasClash(string alias, string name, string other)
        => $"The alias '{alias}' of '{name}' is already {other}; a stored name reads as exactly one event type.";

    public static string AliasOfUnknownName(string alias, string name)
        => $"The alias '{alias}' is declared for '{name}', which no registered event type has.";

    public static string ObsoleteNameRegistered(string name, Type type)
        => $"'{name}' is declared obsolete but is the name of the registered event type '{type.FullName}'. Remove the type's registration "
           + "(an obsolete event has no current type) or do not declare it obsolete.";

    public static string MetadataRenameClash(string key, string first, string second)
        => $"The metadata key '{key}' is renamed twice, to '{first}' and to '{second}'; a key has one new name.";

    public static string MetadataRenameCycle(string key)
        => $"The metadata key renames starting at '{key}' form a cycle; renames must end at a key that is not renamed again.";

    public static string UpcasterFailed(string name, int from, int to, StreamId streamId, long streamVersion, string reason)
        => $"The upcaster of '{name}' from version {from} to version {to} failed on the event at version {streamVersion} of stream '{streamId}': {reason}";

    public static string UpcasterReturnedNull(string name, int from, int to)
        => $"The upcaster of '{name}' from version {from} to version {to} returned null.";

    public static string HistoricalEventAppended(Type type, string name, int version, int current, Type currentType)
        => $"'{type.FullName}' is version {version} of '{name}', kept to read older events; new events are stored as the current version {current} "
           + $"('{currentType.FullName}'). Append a '{currentType.Name}'";

    public static string OutboxLeaseNotLongerThanPublishTimeout(TimeSpan lease, TimeSpan publishTimeout)
        => $"The outbox lease ({lease}) must be longer than the publish timeout ({publishTimeout}), so that a publish ends before its lease can expire. "
           + "Call UseOutbox(o => o.LeaseFor(...)) with a longer lease or o.PublishTimeout(...) with a shorter timeout.";

    public const string EmptyMessageId = "The message id is empty (Guid.Empty); no outbox message has it. Pass the MessageId of a dead letter.";
}
