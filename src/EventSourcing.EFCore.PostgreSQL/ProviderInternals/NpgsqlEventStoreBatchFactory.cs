using EventSourcing.EFCore.Streams.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Update;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;

namespace EventSourcing.EFCore.PostgreSQL.ProviderInternals;

/// <summary>
/// Replaces Npgsql's command batch factory so that the event rows of one SaveChanges go out as one
/// <c>INSERT … SELECT … FROM unnest(…)</c> statement inside EF's own command batch (see <see cref="NpgsqlEventStoreCommandBatch"/>).
/// Every other command is batched exactly as Npgsql does.
/// </summary>
internal sealed class NpgsqlEventStoreBatchFactory : IModificationCommandBatchFactory
{
    private readonly ModificationCommandBatchFactoryDependencies _dependencies;
    private readonly int _maxBatchSize;
    private readonly EventStoreSession _session;

    public NpgsqlEventStoreBatchFactory(ModificationCommandBatchFactoryDependencies dependencies, IDbContextOptions options, EventStoreSession session)
    {
        _dependencies = dependencies;
        _session = session;
        _maxBatchSize = NpgsqlProviderOptions.MaxBatchSize(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(_maxBatchSize, 1, "MaxBatchSize");
    }

    public ModificationCommandBatch Create() => new NpgsqlEventStoreCommandBatch(_dependencies, _maxBatchSize, _session);
}
