using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting;

namespace Platform.Grains.Streaming;

/// <summary>Configures one platform stream provider, as Orleans' own providers are configured (silo or client).</summary>
public interface IPlatformStreamConfigurator : INamedServiceConfigurator
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
