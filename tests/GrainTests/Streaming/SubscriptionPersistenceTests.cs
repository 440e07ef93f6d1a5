using Orleans.TestingHost;
using Platform.Grains.Storage;
using Platform.Grains.Streaming;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests.Streaming;

/// <summary>Explicit subscriptions kept in the store's grain storage (KeepSubscriptionsInStore) outlive a restart of the silo.</summary>
[Collection(ProviderCollection.Name)]
public sealed class SubscriptionPersistenceTests
{
    [Fact]
    public async Task An_explicit_subscription_survives_a_restart()
    {
        using var store = new TempDirectory();
        var cluster = await StartAsync(store.Path);
        await cluster.Client.GetGrain<ISubscriberGrain>("kept").Subscribe("kept", "k1", 0);
        Assert.Equal(1, await cluster.Client.GetGrain<ISubscriberGrain>("kept").CountSubscriptions("kept", "k1"));
        await TestSilo.StopAsync(cluster);

        cluster = await StartAsync(store.Path);
        try
        {
            Assert.Equal(1, await cluster.Client.GetGrain<ISubscriberGrain>("kept").CountSubscriptions("kept", "k1"));
        }
        finally
        {
            await TestSilo.StopAsync(cluster);
        }
    }

    private static async Task<InProcessTestCluster> StartAsync(string store)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddPlatformStreaming(o => o.StoreDirectory = store);
            silo.AddPlatformStreams("platform", c =>
            {
                c.ConfigurePlatformStreams(ob => ob.Configure(o => o.Namespaces.Add("kept")));
                c.KeepSubscriptionsInStore();
            });
        });
        builder.ConfigureClient(client => client.AddPlatformStreams("platform", o => o.Namespaces.Add("kept")));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
