using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Storage;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.Grains.Streaming;

/// <summary>Configures one platform stream provider, as Orleans' own providers are configured (silo or client).</summary>
public interface IPlatformStreamConfigurator : INamedServiceConfigurator
{
}

public interface ISiloPlatformStreamConfigurator : IPlatformStreamConfigurator, ISiloPersistentStreamConfigurator
{
}

public interface IClusterClientPlatformStreamConfigurator : IPlatformStreamConfigurator, IClusterClientPersistentStreamConfigurator
{
}

public static class PlatformStreamConfiguratorExtensions
{
    /// <summary>The provider's <see cref="PlatformStreamOptions"/>: <c>ob => ob.Configure(...)</c>, or <c>ob => ob.Bind(section)</c>.</summary>
    public static void ConfigurePlatformStreams(this IPlatformStreamConfigurator configurator, Action<OptionsBuilder<PlatformStreamOptions>> configure) =>
        configurator.Configure(configure);

    /// <summary>Orleans queues (platform stream partitions) per namespace: <see cref="PlatformStreamOptions.QueuesPerNamespace"/>.</summary>
    public static void ConfigurePartitioning(this IPlatformStreamConfigurator configurator, int queuesPerNamespace) =>
        configurator.Configure<PlatformStreamOptions>(ob => ob.Configure(o => o.QueuesPerNamespace = queuesPerNamespace));

    /// <summary>
    /// Keeps explicit subscriptions (Orleans' "PubSubStore" grain storage) in files under the silo's store directory,
    /// so they survive a restart as the streams do. For a silo alone; a cluster needs a storage all silos share.
    /// </summary>
    public static void KeepSubscriptionsInStore(this ISiloPlatformStreamConfigurator configurator) =>
        configurator.ConfigureDelegate(services => services.AddKeyedSingleton<IGrainStorage>("PubSubStore", (sp, _) =>
            FileGrainStorageHosting.Create(Path.Combine(sp.GetRequiredService<IOptions<StreamingOptions>>().Value.StoreDirectory, "jetstream", "grain-state"), sp)));
}

/// <summary>The silo side: receivers and caches over the local stream logs, each queue pulled where its partition lives.</summary>
public sealed class SiloPlatformStreamConfigurator : SiloPersistentStreamConfigurator, ISiloPlatformStreamConfigurator
{
    public SiloPlatformStreamConfigurator(string name, Action<Action<IServiceCollection>> configureServicesDelegate)
        : base(name, configureServicesDelegate, LogAdapterFactory.Create)
    {
        ConfigureDelegate(services => LogAdapterFactory.AddServices(services, name));
        this.ConfigurePartitionBalancing((services, _) => ActivatorUtilities.CreateInstance<StreamHomeQueueBalancer>(services));
    }
}

/// <summary>The client side: produce and subscribe; namespaces are learnt from the cluster when the client starts.</summary>
public sealed class ClusterClientPlatformStreamConfigurator : ClusterClientPersistentStreamConfigurator, IClusterClientPlatformStreamConfigurator
{
    public ClusterClientPlatformStreamConfigurator(string name, IClientBuilder builder)
        : base(name, builder, LogAdapterFactory.Create)
    {
        ConfigureDelegate(services =>
        {
            LogAdapterFactory.AddServices(services, name);
            services.AddSingleton<ILifecycleParticipant<IClusterClientLifecycle>>(sp => ActivatorUtilities.CreateInstance<NamespaceDiscovery>(sp, name,
                sp.GetRequiredKeyedService<ProviderNamespaces>(name),
                (IReadOnlyList<string>)sp.GetRequiredService<IOptionsMonitor<PlatformStreamOptions>>().Get(name).Namespaces));
        });
    }
}
