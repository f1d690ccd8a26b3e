namespace EventSourcing.EFCore.Infrastructure.Internal;

/// <summary>
/// Marks the interceptors the library registers itself, to tell them from the user's (see
/// <see cref="EventSourcingInterceptors.HasUserSaveOrCommandInterceptors"/>).
/// </summary>
internal interface IEventSourcingInterceptor;
