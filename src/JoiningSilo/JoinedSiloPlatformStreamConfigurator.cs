using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Storage;

namespace Platform.Grains.Streaming;

/// <summary>
/// The provider on a user's silo that joined a platform cluster with the client package only: its grains produce and
/// subscribe as on any silo, the platform's silos read the queues and deliver to them, and the namespaces are learnt
/// from the cluster when the silo becomes active, as a client learns them.
/// </summary>
public sealed class JoinedSiloPlatformStreamConfigurator : SiloPersistentStreamConfigurator, ISiloPersistentStreamConfigurator, IPlatformStreamConfigurator
{
    /// <summary>Orleans' pub-sub grain, which keeps explicit subscriptions in the cluster's "PubSubStore".</summary>
    private const string PubSubGrainClass = "Orleans.Streams.PubSubRendezvousGrain";

    public JoinedSiloPlatformStreamConfigurator(string name, Action<Action<IServiceCollection>> configureServicesDelegate)
        : base(name, configureServicesDelegate, LogAdapterFactory.Create)
    {
        this.ConfigurePartitionBalancing((_, _) => new NoQueuesBalancer());
        ConfigureDelegate(services =>
        {
            LogAdapterFactory.AddServices(services, name);
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => new SiloNamespaceDiscovery(name, ActivatorUtilities.CreateInstance<NamespaceDiscovery>(sp, name,
                sp.GetRequiredKeyedService<ProviderNamespaces>(name),
                (IReadOnlyList<string>)sp.GetRequiredService<IOptionsMonitor<PlatformStreamOptions>>().Get(name).Namespaces)));
            // The subscriptions live in the platform silos' PubSubStore; this silo has none, so Orleans must not place
            // a pub-sub grain here (its activation would fail and stall delivery of that stream).
            services.PostConfigure<GrainTypeOptions>(o => o.Classes.RemoveWhere(t => t.FullName == PubSubGrainClass));
            // Orleans asks every silo with the provider for that storage all the same; one that refuses satisfies it.
            services.TryAddKeyedSingleton<IGrainStorage>(PubSubStore, new NoPubSubStore());
        });
    }

    private const string PubSubStore = "PubSubStore";

    private sealed class NoPubSubStore : IGrainStorage
    {
        private static InvalidOperationException Refused() =>
            new($"This silo joined the platform cluster without hosting it: Orleans' pub-sub grains and their \"{PubSubStore}\" live on the platform's silos.");

        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => throw Refused();
        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => throw Refused();
        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => throw Refused();
    }
}
