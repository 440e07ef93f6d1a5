using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Providers;
using Platform.Grains.Streaming;

[assembly: RegisterProvider("Platform", "Streaming", "Silo", typeof(PlatformStreamSiloProviderBuilder))]

namespace Platform.Grains.Streaming;

/// <summary>Registration of the platform stream provider on silos, in code or from configuration.</summary>
public static class PlatformStreamsHosting
{
    public const string DefaultName = PlatformStreamsClientHosting.DefaultName;

    /// <summary>
    /// Adds the Orleans persistent stream provider <paramref name="name"/> over the platform's streams (see
    /// <see cref="PlatformStreamOptions"/> for the mapping). The silo needs a StreamStore (AddPlatformStreaming) and, for
    /// explicit subscriptions, a "PubSubStore" grain storage (<see cref="SiloPlatformStreamConfiguratorExtensions.KeepSubscriptionsInStore"/>
    /// on a silo alone); implicit subscriptions need none. Options are validated when the provider starts.
    /// </summary>
    public static ISiloBuilder AddPlatformStreams(this ISiloBuilder silo, string name, Action<ISiloPlatformStreamConfigurator> configure)
    {
        var configurator = new SiloPlatformStreamConfigurator(name, services => services(silo.Services));
        PlatformStreamsClientHosting.AddValidation(silo.Services, name);
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
}

/// <summary>
/// Registers the provider on a silo from configuration, as Orleans does for its own:
/// <c>Orleans:Streaming:&lt;name&gt;:ProviderType</c> = <c>Platform</c>, with the <see cref="PlatformStreamOptions"/> in the
/// same section (e.g. <c>Namespaces:0</c> = <c>sensors</c>) and, on a silo alone, <c>KeepSubscriptionsInStore</c> = <c>true</c>.
/// </summary>
internal sealed class PlatformStreamSiloProviderBuilder : IProviderBuilder<ISiloBuilder>
{
    private const string KeepSubscriptionsInStore = "KeepSubscriptionsInStore";

    public void Configure(ISiloBuilder builder, string? name, IConfigurationSection configurationSection) =>
        builder.AddPlatformStreams(name ?? PlatformStreamsHosting.DefaultName, c =>
        {
            c.ConfigurePlatformStreams(ob => ob.Bind(configurationSection));
            if (configurationSection.GetValue<bool>(KeepSubscriptionsInStore))
                c.KeepSubscriptionsInStore();
        });
}
