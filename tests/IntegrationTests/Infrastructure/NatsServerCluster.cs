using System.Net.Http.Json;
using System.Text.Json;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>
/// nats-server 2.9.10 nodes on loopback routed into one cluster (--cluster, --routes to every other node): the
/// reference for core NATS across silos. Started when every node's /routez shows a route to each other node.
/// </summary>
public sealed class NatsServerCluster : ICoreCluster
{
    private readonly NatsServerProcess?[] _nodes;

    private NatsServerCluster(NatsServerProcess[] nodes)
    {
        _nodes = nodes;
        Urls = [.. nodes.Select(n => n.Url)];
        HttpPorts = [.. nodes.Select(n => n.HttpPort)];
    }

    public IReadOnlyList<string> Urls { get; }

    /// <summary>Each node's monitoring port (/routez).</summary>
    public IReadOnlyList<int> HttpPorts { get; }

    /// <summary>
    /// Starts <paramref name="count"/> routed nodes; with <paramref name="jetStream"/> each also runs JetStream under
    /// its own server name (n0, n1, ...), as a JetStream cluster needs, and the caller waits for its meta leader.
    /// </summary>
    public static async Task<NatsServerCluster> StartAsync(int count = 3, bool jetStream = false)
    {
        var clusterPorts = Enumerable.Range(0, count).Select(_ => SiloProcess.FreePort()).ToArray();
        var nodes = new NatsServerProcess[count];
        try
        {
            for (int i = 0; i < count; i++)
            {
                var routes = string.Join(",", clusterPorts.Where((_, j) => j != i).Select(p => $"nats://127.0.0.1:{p}"));
                string[] args = ["--cluster_name", "ref", "--cluster", $"nats://127.0.0.1:{clusterPorts[i]}", "--routes", routes];
                nodes[i] = await NatsServerProcess.StartAsync(jetStream, monitoring: true, jetStream ? [.. args, "-n", $"n{i}"] : args);
            }
            var cluster = new NatsServerCluster(nodes);
            await cluster.WaitForRoutesAsync(count - 1);
            return cluster;
        }
        catch
        {
            foreach (var node in nodes)
            {
                if (node is not null)
                    await node.DisposeAsync();
            }
            throw;
        }
    }

    private async Task WaitForRoutesAsync(int expected)
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        foreach (var node in _nodes)
        {
            while (true)
            {
                var routez = await http.GetFromJsonAsync<JsonElement>($"http://127.0.0.1:{node!.HttpPort}/routez");
                if (routez.GetProperty("num_routes").GetInt32() >= expected)
                    break;
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"nats-server routes not up: {routez}");
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Kills the node: its routes close and the other nodes drop what it was subscribed to.</summary>
    public async Task StopNodeAsync(int node)
    {
        if (_nodes[node] is { } process)
        {
            _nodes[node] = null;
            await process.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (int i = 0; i < _nodes.Length; i++)
            await StopNodeAsync(i);
    }
}
