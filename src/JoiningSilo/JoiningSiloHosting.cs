using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Platform.Grains.Client;

namespace Platform.Grains.Streaming;

/// <summary>What a user's own silo registers to join a platform cluster without hosting the platform.</summary>
public static class JoiningSiloHosting
{
    /// <summary>
    /// <see cref="PlatformStreams"/> in DI and <paramref name="name"/>'s stream provider for this silo's grains, on a
    /// silo with no store and no stream grains (the catalog never makes it a stream's home). The platform's silos read
    /// the queues and deliver to grains here; explicit subscriptions are kept by them, so this silo needs no "PubSubStore".
    /// </summary>
    public static ISiloBuilder AddPlatformStreamsClient(this ISiloBuilder silo, string name = PlatformStreamsClientHosting.DefaultName)
    {
        silo.Services.AddPlatformStreamsClient();
        _ = new JoinedSiloPlatformStreamConfigurator(name, services => services(silo.Services));
        PlatformStreamsClientHosting.AddValidation(silo.Services, name);
        return silo;
    }
}
