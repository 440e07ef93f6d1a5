namespace Platform.Gateway.Server;

/// <summary>
/// What this silo tells NATS clients and /varz about its cluster, replaced whole whenever the membership changes.
/// </summary>
/// <param name="Name">The cluster name (INFO "cluster", /varz cluster.name).</param>
/// <param name="Address">The address of this silo's Orleans silo port (/varz cluster.addr).</param>
/// <param name="Port">This silo's Orleans silo port (/varz cluster.cluster_port).</param>
/// <param name="ConnectUrls">The NATS client host:port of every active silo, this one first, as nats-server lists them.</param>
/// <param name="SiloUrls">The Orleans silo host:port of every active silo (/varz cluster.urls).</param>
internal sealed record ClusterView(string Name, string Address, int Port, IReadOnlyList<string> ConnectUrls, IReadOnlyList<string> SiloUrls)
{
    /// <summary>The other active silos: Orleans connects to each, as a nats-server has one route to each peer.</summary>
    public int Peers => Math.Max(0, SiloUrls.Count - 1);
}
