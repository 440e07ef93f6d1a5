using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Providers;
using Platform.Grains.Streaming;

[assembly: RegisterProvider("Platform", "Streaming", "Silo", typeof(PlatformStreamProviderBuilder))]
[assembly: RegisterProvider("Platform", "Streaming", "Client", typeof(PlatformStreamProviderBuilder))]

namespace Platform.Grains.Streaming;

/// <summary>Registration of the platform stream provider on silos and on external clients, in code or from configuration.</summary>
public static class PlatformStreamsHosting
{
    public const string DefaultName = "platform";

    /// <summary>
    /// Adds the Orleans persistent stream provider <paramref name="name"/> over the platform's streams (see
    /// <see cref="PlatformStreamOptions"/> for the mapping). The silo needs a StreamStore (JetStream enabled) and, for
    /// explicit subscriptions, a "PubSubStore" grain storage (<see cref="PlatformStreamConfiguratorExtensions.KeepSubscriptionsInStore"/>
    /// on a silo alone); implicit subscriptions need none. Options are validated when the provider starts.
    /// </summary>
    public static ISiloBuilder AddPlatformStreams(this ISiloBuilder silo, string name, Action<ISiloPlatformStreamConfigurator> configure)
    {
        var configurator = new SiloPlatformStreamConfigurator(name, services => services(silo.Services));
        AddValidation(silo.Services, name);
        configure(configurator);
        return silo;
    }

    /// <summary>The same with the options in a delegate (and Orleans' persistent stream settings in another).</summary>
    public static ISiloBuilder AddPlatformStreams(this ISiloBuilder silo, string name = DefaultName, Action<PlatformStreamOptions>? configure = null,
        Action<ISiloPlatformStreamConfigurator>? configureStreams = null) =>
        silo.AddPlatformStreams(name, c =>
        {
            c.ConfigurePlatformStreams(ob => ob.Configure(o => configure?.Invoke(o)));
            configureStreams?.Invoke(c);
        });

    /// <summary>The client side: produce to and subscribe through the provider from an external Orleans client.</summary>
    public static IClientBuilder AddPlatformStreams(this IClientBuilder client, string name, Action<IClusterClientPlatformStreamConfigurator> configure)
    {
        var configurator = new ClusterClientPlatformStreamConfigurator(name, client);
        AddValidation(client.Services, name);
        configure(configurator);
        return client;
    }

    /// <summary>The client side with the options in a delegate; with none, the namespaces are learnt from the cluster.</summary>
    public static IClientBuilder AddPlatformStreams(this IClientBuilder client, string name = DefaultName, Action<PlatformStreamOptions>? configure = null) =>
        client.AddPlatformStreams(name, c => c.ConfigurePlatformStreams(ob => ob.Configure(o => configure?.Invoke(o))));

    private static void AddValidation(IServiceCollection services, string name)
    {
        services.AddSingleton<IValidateOptions<PlatformStreamOptions>>(new PlatformStreamOptionsValidator(name));
        services.AddOptions<PlatformStreamOptions>(name).ValidateOnStart();
    }
}

/// <summary>
/// Registers the provider from configuration, as Orleans does for its own: <c>Orleans:Streaming:&lt;name&gt;:ProviderType</c>
/// = <c>Platform</c>, with the <see cref="PlatformStreamOptions"/> in the same section (e.g. <c>Namespaces:0</c> = <c>sensors</c>)
/// and, on a silo alone, <c>KeepSubscriptionsInStore</c> = <c>true</c>.
/// </summary>
internal sealed class PlatformStreamProviderBuilder : IProviderBuilder<ISiloBuilder>, IProviderBuilder<IClientBuilder>
{
    /// <summary>A silo's <c>KeepSubscriptionsInStore: true</c>: <see cref="PlatformStreamConfiguratorExtensions.KeepSubscriptionsInStore"/>.</summary>
    private const string KeepSubscriptionsInStore = "KeepSubscriptionsInStore";

    public void Configure(ISiloBuilder builder, string? name, IConfigurationSection configurationSection) =>
        builder.AddPlatformStreams(name ?? PlatformStreamsHosting.DefaultName, c =>
        {
            c.ConfigurePlatformStreams(ob => ob.Bind(configurationSection));
            if (configurationSection.GetValue<bool>(KeepSubscriptionsInStore))
                c.KeepSubscriptionsInStore();
        });

    public void Configure(IClientBuilder builder, string? name, IConfigurationSection configurationSection) =>
        builder.AddPlatformStreams(name ?? PlatformStreamsHosting.DefaultName, c => c.ConfigurePlatformStreams(ob => ob.Bind(configurationSection)));
}
