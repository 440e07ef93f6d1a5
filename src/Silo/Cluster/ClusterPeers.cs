using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Platform.Gateway.Server;
using Platform.Grains.Node;

namespace Platform.Silo.Cluster;

/// <summary>
/// Keeps the gateway's view of the cluster current: the active silos from Orleans membership and, from their silo
/// metadata, their NATS client URLs, which INFO advertises as connect_urls so clients fail over between silos.
/// </summary>
internal sealed class ClusterPeers(
    string ownUrl,
    IClusterMembershipService membership,
    ISiloMetadataCache metadata,
    ILocalSiloDetails local,
    NatsServer server,
    NodeIdentity node,
    ILogger<ClusterPeers> logger) : BackgroundService
{
    /// <summary>
    /// Metadata of a silo that just joined is fetched by Orleans after the membership change that announces it, so a
    /// snapshot alone may not name its URL yet: the view is rebuilt on every change and then every interval.
    /// </summary>
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly HashSet<SiloAddress> _duplicateReported = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ClusterView? last = null;
        using var timer = new PeriodicTimer(Interval);
        try
        {
            do
            {
                var view = Build(membership.CurrentSnapshot);
                if (last is null || !Same(last, view))
                {
                    if (last is not null)
                        logger.LogInformation("Cluster {Cluster}: {Count} active silos, connect_urls {Urls}", view.Name, view.SiloUrls.Count, string.Join(", ", view.ConnectUrls));
                    server.UpdateCluster(view);
                    last = view;
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private ClusterView Build(ClusterMembershipSnapshot snapshot)
    {
        var self = local.SiloAddress;
        var connectUrls = new List<string> { ownUrl };
        var siloUrls = new List<string> { Endpoint(self) };
        var others = new List<(string Silo, string? Client)>();
        foreach (var (address, member) in snapshot.Members)
        {
            if (member.Status != SiloStatus.Active || address.Equals(self))
                continue;
            // Names are how stores and stream homes are told apart; the store lock cannot see a copy on another disk.
            if (member.Name == node.Name && _duplicateReported.Add(address))
                logger.LogError("Node name {Name} is also used by active silo {Silo}: every silo of a cluster needs its own -n", node.Name, address);
            var url = metadata.GetSiloMetadata(address).Metadata.GetValueOrDefault(ClusterHosting.ClientUrlKey);
            others.Add((Endpoint(address), url));
        }
        others.Sort((a, b) => string.CompareOrdinal(a.Silo, b.Silo));
        foreach (var (silo, client) in others)
        {
            siloUrls.Add(silo);
            if (client is not null)
                connectUrls.Add(client);
        }
        return new ClusterView(node.ClusterName!, self.Endpoint.Address.ToString(), self.Endpoint.Port, connectUrls, siloUrls);
    }

    private static string Endpoint(SiloAddress address) => $"{address.Endpoint.Address}:{address.Endpoint.Port}";

    private static bool Same(ClusterView a, ClusterView b)
        => a.ConnectUrls.SequenceEqual(b.ConnectUrls) && a.SiloUrls.SequenceEqual(b.SiloUrls);
}
