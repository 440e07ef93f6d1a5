using Platform.IntegrationTests.Infrastructure;
using Platform.IntegrationTests.Monitoring;

namespace Platform.IntegrationTests.Cluster;

/// <summary>
/// The core NATS script of <see cref="CoreAcrossSilosTests"/> on three silo processes joined through PostgreSQL, with
/// kill -9 for a node that goes: what a deployment runs, where the in-process cluster shares one process and memory.
/// </summary>
public sealed class CoreProcessClusterTests(PostgresFixture fixture) : IClassFixture<PostgresFixture>
{
    [SkippableFact]
    public async Task Core_nats_across_silo_processes_behaves_as_a_nats_server_cluster()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        await using var cluster = await Nodes.StartAsync(fixture.Postgres!, "core");
        // /routez: a route to each other silo, as nats-server lists its routes.
        await ProcessCluster.WaitUntilAsync(async () => await RoutesAsync(cluster.Silos[0]) == 2, TimeSpan.FromSeconds(30),
            async () => $"num_routes {await RoutesAsync(cluster.Silos[0])}");
        var routez = await MonitorHttp.GetJsonAsync(cluster.Silos[0].HttpPort, "/routez");
        Assert.All(routez.GetProperty("routes").EnumerateArray(), r => Assert.Equal("127.0.0.1", r.GetProperty("ip").GetString()));
        Assert.Equal(Expected.Wildcards, await CoreClusterScript.WildcardsAsync(cluster));
        Assert.Equal(Expected.Unsubscribe, await CoreClusterScript.UnsubscribeAsync(cluster));
        Assert.Equal(Expected.QueueGroup, await CoreClusterScript.QueueGroupAsync(cluster));
        Assert.Equal(Expected.FreshInboxRequests, await CoreClusterScript.FreshInboxRequestsAsync(cluster));
        Assert.Equal(Expected.Order, await CoreClusterScript.OrderAsync(cluster));
        // A node killed with SIGKILL: the others drop its interest once membership declares it dead.
        Assert.Equal(Expected.NodeStop, await CoreClusterScript.NodeStopAsync(cluster));
        await ProcessCluster.WaitUntilAsync(async () => await RoutesAsync(cluster.Silos[0]) == 1, TimeSpan.FromSeconds(30),
            async () => $"num_routes {await RoutesAsync(cluster.Silos[0])} after a node was killed");
    }

    private static async Task<int> RoutesAsync(SiloProcess silo)
        => (await MonitorHttp.GetJsonAsync(silo.HttpPort, "/routez")).GetProperty("num_routes").GetInt32();

    /// <summary>Three silo processes of one cluster; a node stops by kill -9.</summary>
    private sealed class Nodes(PostgresProcess postgres, string cluster, List<SiloProcess> silos) : ICoreCluster
    {
        public IReadOnlyList<string> Urls { get; } = [.. silos.Select(s => s.Url)];

        public IReadOnlyList<SiloProcess> Silos => silos;

        public static async Task<Nodes> StartAsync(PostgresProcess postgres, string cluster)
        {
            var silos = (await Task.WhenAll(
                ProcessCluster.StartNodeAsync(postgres, cluster, "a"),
                ProcessCluster.StartNodeAsync(postgres, cluster, "b"),
                ProcessCluster.StartNodeAsync(postgres, cluster, "c"))).ToList();
            await ProcessCluster.WaitForActiveAsync(postgres, cluster, ["a", "b", "c"], TimeSpan.FromSeconds(60));
            return new Nodes(postgres, cluster, silos);
        }

        public async Task StopNodeAsync(int node)
        {
            silos[node].Kill();
            var left = Enumerable.Range(0, silos.Count).Where(i => i != node).Select(i => ((char)('a' + i)).ToString()).ToArray();
            await ProcessCluster.WaitForActiveAsync(postgres, cluster, left, TimeSpan.FromSeconds(60));
        }

        public ValueTask DisposeAsync() => new(ProcessCluster.DisposeAllAsync(silos));
    }
}
