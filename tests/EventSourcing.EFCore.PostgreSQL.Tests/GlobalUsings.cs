// The suites' outbox publisher is the one users get from the EventSourcing.EFCore.Testing package.
global using RecordingPublisher = EventSourcing.EFCore.Testing.RecordingOutboxPublisher;
