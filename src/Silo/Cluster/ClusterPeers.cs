using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Platform.Gateway.Server;
using Platform.Grains.Node;

namespace Platform.Silo.Cluster;

/// <summary>
/// Keeps the gateway's view of the cluster current: the active silos from Orleans membership and, from their silo
/// metadata, their NATS client URLs, which INFO advertises as connect_urls so clients fail over between silos. It
/// also keeps node names unique: of two active silos with one name and different stores, the later one stops.
/// </summary>
internal sealed class ClusterPeers(
    string ownUrl,
    IClusterMembershipService membership,
    ISiloMetadataCache metadata,
    ILocalSiloDetails local,
    NatsServer server,
    NodeIdentity node,
    IHostApplicationLifetime lifetime,
    IOptions<ClusterMembershipOptions> membershipOptions,
    ILogger<ClusterPeers> logger) : BackgroundService
{
    /// <summary>
    /// Metadata of a silo that just joined is fetched by Orleans after the membership change that announces it, so a
    /// snapshot alone may not name its URL yet: the view is rebuilt on every change and then every interval.
    /// </summary>
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly HashSet<SiloAddress> _duplicateReported = [];
    private readonly Dictionary<SiloAddress, long> _duplicateSince = [];
    private bool _stopping;

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
            if (member.Name == node.Name)
                CheckNameTaken(address);
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

    /// <summary>
    /// Names are how stores and stream homes are told apart, and the store lock cannot see a store on another disk. An
    /// active silo with this node's name and the same data id is this node's own process that was killed and is not yet
    /// declared dead (the lock rules out two live ones on one store). With another data id it is a second node under
    /// the same name, or this node's earlier process before its store was wiped: the one that joined later stops once
    /// the other has stayed active for as long as failure detection takes to declare a killed silo dead.
    /// </summary>
    private void CheckNameTaken(SiloAddress other)
    {
        var otherData = metadata.GetSiloMetadata(other).Metadata.GetValueOrDefault(ClusterHosting.DataIdKey);
        if (otherData is null || otherData == node.DataId || _stopping)
            return;
        if (other.Generation > local.SiloAddress.Generation)
        {
            if (_duplicateReported.Add(other))
                logger.LogError("Node name {Name} is also used by silo {Silo}, which joined later with another store and stops", node.Name, other);
            return;
        }
        long now = Environment.TickCount64;
        long since = _duplicateSince.TryGetValue(other, out var first) ? first : _duplicateSince[other] = now;
        if (now - since < (long)DetectionTime().TotalMilliseconds)
            return;
        _stopping = true;
        logger.LogCritical("Node name {Name} is already used by active silo {Silo} with another store: every silo of a cluster needs its own -n; stopping",
            node.Name, other);
        Environment.ExitCode = 1;
        lifetime.StopApplication();
    }

    private TimeSpan DetectionTime()
    {
        var o = membershipOptions.Value;
        return o.ProbeTimeout * (o.NumMissedProbesLimit + 1) + o.TableRefreshTimeout;
    }

    private static string Endpoint(SiloAddress address) => $"{address.Endpoint.Address}:{address.Endpoint.Port}";

    private static bool Same(ClusterView a, ClusterView b)
        => a.ConnectUrls.SequenceEqual(b.ConnectUrls) && a.SiloUrls.SequenceEqual(b.SiloUrls);
}
