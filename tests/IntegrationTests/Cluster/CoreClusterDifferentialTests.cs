using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Cluster;

/// <summary>
/// The script of <see cref="CoreAcrossSilosTests"/> against a 3-node nats-server cluster and a 3-silo cluster: both must
/// observe the same, and that is what the silo tests expect.
/// </summary>
public sealed class CoreClusterDifferentialTests
{
    private static readonly string[] Steps = ["wildcards", "unsubscribe", "queue group", "fresh inbox requests", "order"];

    [SkippableFact]
    public async Task Silos_observe_what_a_nats_server_cluster_observes()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        await using var reference = await NatsServerCluster.StartAsync(3);
        await using var silos = await SiloCluster.StartAsync(3);
        foreach (var name in Steps)
        {
            var expected = await RunAsync(name, reference);
            var actual = await RunAsync(name, silos);
            Assert.True(expected == actual, $"{name}: nats-server observed \"{expected}\", the silos \"{actual}\"");
        }
    }

    [SkippableFact]
    public async Task A_stopped_node_drops_out_like_a_nats_server_node()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        string expected, actual;
        await using (var reference = await NatsServerCluster.StartAsync(3))
            expected = await CoreClusterScript.NodeStopAsync(reference);
        await using (var silos = await SiloCluster.StartAsync(3))
            actual = await CoreClusterScript.NodeStopAsync(silos);
        Assert.Equal(Expected.NodeStop, expected);
        Assert.Equal(expected, actual);
    }

    private static Task<string> RunAsync(string step, ICoreCluster cluster) => step switch
    {
        "wildcards" => CoreClusterScript.WildcardsAsync(cluster),
        "unsubscribe" => CoreClusterScript.UnsubscribeAsync(cluster),
        "queue group" => CoreClusterScript.QueueGroupAsync(cluster),
        "fresh inbox requests" => CoreClusterScript.FreshInboxRequestsAsync(cluster),
        "order" => CoreClusterScript.OrderAsync(cluster),
        _ => throw new ArgumentException(step),
    };
}
