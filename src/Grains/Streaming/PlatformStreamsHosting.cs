using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Hosting;

namespace Platform.Grains.Streaming;

/// <summary>One-line registration of the platform stream provider on silos and on external clients.</summary>
public static class PlatformStreamsHosting
{
    public const string DefaultName = "platform";

    /// <summary>
    /// Adds the Orleans persistent stream provider <paramref name="name"/> over the platform's streams (see
    /// <see cref="PlatformStreamOptions"/> for the mapping). The silo needs a StreamStore (JetStream enabled) and, for
    /// explicit subscriptions, a "PubSubStore" grain storage (this assembly does not reference the silo runtime that
    /// provides storage, so it cannot add one; implicit subscriptions need none).
    /// </summary>
    public static ISiloBuilder AddPlatformStreams(this ISiloBuilder silo, string name = DefaultName, Action<PlatformStreamOptions>? configure = null,
        Action<ISiloPersistentStreamConfigurator>? configureStreams = null)
    {
        silo.Services.Configure<PlatformStreamOptions>(name, o => configure?.Invoke(o));
        LogAdapterFactory.AddServices(silo.Services, name);
        return silo.AddPersistentStreams(name, LogAdapterFactory.Create, s =>
        {
            s.ConfigurePartitionBalancing((services, _) => ActivatorUtilities.CreateInstance<StreamHomeQueueBalancer>(services));
            configureStreams?.Invoke(s);
        });
    }

    /// <summary>The client side: produce to and subscribe through the provider from an external Orleans client.</summary>
    public static IClientBuilder AddPlatformStreams(this IClientBuilder client, string name = DefaultName, Action<PlatformStreamOptions>? configure = null)
    {
        client.Services.Configure<PlatformStreamOptions>(name, o => configure?.Invoke(o));
        LogAdapterFactory.AddServices(client.Services, name);
        client.Services.AddSingleton<ILifecycleParticipant<IClusterClientLifecycle>>(sp => new NamespaceDiscovery(name,
            sp.GetRequiredKeyedService<ProviderNamespaces>(name), sp.GetRequiredService<IOptionsMonitor<PlatformStreamOptions>>().Get(name).Namespaces,
            sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<ILogger<NamespaceDiscovery>>()));
        return client.AddPersistentStreams(name, LogAdapterFactory.Create, _ => { });
    }
}
