using NATS.Client.Core;
using NATS.Client.JetStream;
using Platform.Load.Options;

namespace Platform.Load.Scenarios;

/// <summary>
/// Where the clients of a cluster run (--cluster-urls): every scenario's publishers connect to the first node, and
/// these helpers put the other side elsewhere, so what is measured is the path between nodes (a route between
/// nats-servers, grain calls between silos). Without --cluster-urls each helper leaves the options as they are.
/// </summary>
internal static class ClusterNodes
{
    /// <summary>The options for the receiving side (subscribers, the responder): the second node.</summary>
    public static LoadOptions Peer(LoadOptions o) => o.ClusterUrls is { } urls ? o with { Url = urls[1] } : o;

    /// <summary>The options for client <paramref name="index"/> of a set spread round-robin over the nodes.</summary>
    public static LoadOptions Spread(LoadOptions o, int index)
        => o.ClusterUrls is { } urls ? o with { Url = urls[index % urls.Count] } : o;

    /// <summary>
    /// The options for publishers to <paramref name="stream"/>: a node other than the stream's leader (its home on
    /// the silo), found by asking each node its name in INFO, so every publish is forwarded to another node.
    /// </summary>
    public static async Task<LoadOptions> AwayFromLeaderAsync(LoadOptions o, INatsJSContext js, string stream, CancellationToken ct)
    {
        if (o.ClusterUrls is not { } urls)
            return o;
        var info = await js.GetStreamAsync(stream, cancellationToken: ct);
        var leader = info.Info.Cluster?.Leader
            ?? throw new InvalidOperationException($"stream {stream} names no cluster leader: is the server a cluster?");
        foreach (var url in urls)
        {
            await using var probe = await Connections.OpenAsync(o with { Url = url }, "probe", ct);
            if (probe.ServerInfo?.Name is { } name && name != leader)
                return o with { Url = url };
        }
        throw new InvalidOperationException($"every node of --cluster-urls is the leader {leader} of {stream}");
    }
}
