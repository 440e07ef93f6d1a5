using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Platform.Grains.Streams;

namespace Platform.GrainTests.Infrastructure;

/// <summary>A one-silo in-process cluster whose stream grains keep their logs in a real on-disk store.</summary>
internal static class TestSilo
{
    public static async Task<InProcessTestCluster> StartAsync(string storeDirectory)
    {
        var builder = new InProcessTestClusterBuilder(1);
        // The default writes a log file per silo into the working directory, which is the source tree under some runners.
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) => silo.AddPlatformStreaming(o => o.StoreDirectory = storeDirectory));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>A graceful stop deactivates every grain, which is what closes the stream logs.</summary>
    public static async Task StopAsync(InProcessTestCluster cluster)
    {
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
    }
}

/// <summary>One cluster and store directory shared by the tests of a class; tests keep apart by unique stream names.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private readonly TempDirectory _store = new();
    private InProcessTestCluster? _cluster;

    public string StoreDirectory => _store.Path;

    public IGrainFactory Grains => _cluster?.Client ?? throw new InvalidOperationException("The cluster is not deployed.");

    public async Task InitializeAsync() => _cluster = await TestSilo.StartAsync(_store.Path);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
            await TestSilo.StopAsync(_cluster);
        _store.Dispose();
    }
}
