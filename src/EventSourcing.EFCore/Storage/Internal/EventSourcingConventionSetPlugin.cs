using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Metadata.Conventions;
using Microsoft.EntityFrameworkCore.Metadata.Conventions.Infrastructure;

namespace EventSourcing.EFCore.Storage.Internal;

/// <summary>
/// Registered by <c>UseEventSourcing</c>: marks the model under construction as belonging to a context configured for
/// event sourcing, so that <c>IncludeEventStore()</c> can refuse a model whose context would write the entities of an
/// event-sourced save but silently drop its events (no interceptor without the options extension). The mark is removed
/// when the model is finalized: it is not part of the model (nor of migrations).
/// </summary>
internal sealed class EventSourcingConventionSetPlugin : IConventionSetPlugin
{
    public ConventionSet ModifyConventions(ConventionSet conventionSet)
    {
        var convention = new ConfiguredForEventSourcingConvention();
        conventionSet.ModelInitializedConventions.Add(convention);
        conventionSet.ModelFinalizingConventions.Add(convention);
        return conventionSet;
    }

    private sealed class ConfiguredForEventSourcingConvention : IModelInitializedConvention, IModelFinalizingConvention
    {
        public void ProcessModelInitialized(IConventionModelBuilder modelBuilder, IConventionContext<IConventionModelBuilder> context)
            => modelBuilder.HasAnnotation(EventStoreModel.ConfiguredAnnotation, true);

        public void ProcessModelFinalizing(IConventionModelBuilder modelBuilder, IConventionContext<IConventionModelBuilder> context)
            => modelBuilder.HasNoAnnotation(EventStoreModel.ConfiguredAnnotation);
    }
}
