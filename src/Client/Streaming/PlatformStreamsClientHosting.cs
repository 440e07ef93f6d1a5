using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Providers;
using Platform.Grains.Client;
using Platform.Grains.Cluster;
using Platform.Grains.Streaming;

[assembly: RegisterProvider("Platform", "Streaming", "Client", typeof(PlatformStreamClientProviderBuilder))]

namespace Platform.Grains.Streaming;

/// <summary>What an external Orleans client registers: <see cref="PlatformStreams"/> in DI, and the stream provider.</summary>
public static class PlatformStreamsClientHosting
{
    public const string DefaultName = "platform";

    /// <summary><see cref="PlatformStreams"/> as a singleton over the host's cluster client (or a silo's grain factory).</summary>
    public static IServiceCollection AddPlatformStreamsClient(this IServiceCollection services)
    {
        services.AddSingleton(sp => new PlatformStreams(sp.GetRequiredService<IGrainFactory>()));
        MisplacedCallRetry.AddTo(services);
        return services;
    }

    /// <summary><see cref="PlatformStreams"/> in the client's DI, with <paramref name="name"/>'s stream provider (namespaces learnt from the cluster).</summary>
    public static IClientBuilder AddPlatformStreamsClient(this IClientBuilder client, string name = DefaultName)
    {
        client.Services.AddPlatformStreamsClient();
        return client.AddPlatformStreams(name);
    }

    /// <summary>The stream provider on an external Orleans client: produce to and subscribe through it.</summary>
    public static IClientBuilder AddPlatformStreams(this IClientBuilder client, string name, Action<IClusterClientPlatformStreamConfigurator> configure)
    {
        var configurator = new ClusterClientPlatformStreamConfigurator(name, client);
        AddValidation(client.Services, name);
        MisplacedCallRetry.AddTo(client.Services);
        configure(configurator);
        return client;
    }

    /// <summary>The client side with the options in a delegate; with none, the namespaces are learnt from the cluster.</summary>
    public static IClientBuilder AddPlatformStreams(this IClientBuilder client, string name = DefaultName, Action<PlatformStreamOptions>? configure = null) =>
        client.AddPlatformStreams(name, c => c.ConfigurePlatformStreams(ob => ob.Configure(o => configure?.Invoke(o))));

    internal static void AddValidation(IServiceCollection services, string name)
    {
        services.AddSingleton<IValidateOptions<PlatformStreamOptions>>(new PlatformStreamOptionsValidator(name));
        services.AddOptions<PlatformStreamOptions>(name).ValidateOnStart();
    }
}

/// <summary>
/// Registers the provider on a client from configuration: <c>Orleans:Streaming:&lt;name&gt;:ProviderType</c> =
/// <c>Platform</c>, with the <see cref="PlatformStreamOptions"/> in the same section.
/// </summary>
internal sealed class PlatformStreamClientProviderBuilder : IProviderBuilder<IClientBuilder>
{
    public void Configure(IClientBuilder builder, string? name, IConfigurationSection configurationSection) =>
        builder.AddPlatformStreams(name ?? PlatformStreamsClientHosting.DefaultName, c => c.ConfigurePlatformStreams(ob => ob.Bind(configurationSection)));
}
