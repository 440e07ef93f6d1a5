using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Storage;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.Grains.Streaming;

public interface ISiloPlatformStreamConfigurator : IPlatformStreamConfigurator, ISiloPersistentStreamConfigurator
{
}

/// <summary>The silo side: receivers and caches over the local stream logs, each queue pulled where its partition lives.</summary>
public sealed class SiloPlatformStreamConfigurator : SiloPersistentStreamConfigurator, ISiloPlatformStreamConfigurator
{
    public SiloPlatformStreamConfigurator(string name, Action<Action<IServiceCollection>> configureServicesDelegate)
        : base(name, configureServicesDelegate, SiloLogAdapterFactory.Create)
    {
        ConfigureDelegate(services => LogAdapterFactory.AddServices(services, name));
        this.ConfigurePartitionBalancing((services, _) => ActivatorUtilities.CreateInstance<StreamHomeQueueBalancer>(services));
    }
}

public static class SiloPlatformStreamConfiguratorExtensions
{
    /// <summary>
    /// Keeps explicit subscriptions (Orleans' "PubSubStore" grain storage) in files under the silo's store directory,
    /// so they survive a restart as the streams do. For a silo alone; a cluster needs a storage all silos share.
    /// </summary>
    public static void KeepSubscriptionsInStore(this ISiloPlatformStreamConfigurator configurator) =>
        configurator.ConfigureDelegate(services => services.AddKeyedSingleton<IGrainStorage>("PubSubStore", (sp, _) =>
            FileGrainStorageHosting.Create(Path.Combine(sp.GetRequiredService<IOptions<StreamingOptions>>().Value.StoreDirectory, "jetstream", "grain-state"), sp)));
}
