using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Platform.Gateway;
using Platform.Grains.Node;
using Platform.Grains.Streams;
using Platform.Silo.Configuration;

namespace Platform.Silo.Cluster;

/// <summary>
/// Orleans clustering for the silo executable: localhost clustering when it runs alone (as before), or membership in
/// PostgreSQL when a cluster is configured. Everything cluster-specific the host needs is decided here.
/// </summary>
internal static class ClusterHosting
{
    /// <summary>Silo metadata key under which each silo publishes its NATS client host:port to the others.</summary>
    public const string ClientUrlKey = "platform.nats.client";

    /// <summary>Silo metadata key under which each silo publishes its store's data id (node names must be unique).</summary>
    public const string DataIdKey = "platform.node.data";

    /// <summary>The configuration section bound to Orleans' <see cref="ClusterMembershipOptions"/> (failure detection
    /// timeouts), e.g. environment variable <c>Orleans__Membership__ProbeTimeout=00:00:01</c>.</summary>
    public const string MembershipSection = "Orleans:Membership";

    public static void UseClustering(this ISiloBuilder silo, SiloSettings settings, NodeIdentity node, IConfiguration configuration,
        int siloPort, int gatewayPort, string clientUrl)
    {
        if (!settings.Cluster.Enabled)
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort);
            return;
        }
        var cluster = settings.Cluster;
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.Name!;
            o.ServiceId = cluster.Name!;
        });
        silo.Configure<SiloOptions>(o => o.SiloName = node.Name);
        var (address, anyAddress) = SiloAddress(settings);
        silo.ConfigureEndpoints(address, siloPort, gatewayPort, listenOnAnyHostAddress: anyAddress);
        if (RedisStore.Is(cluster.Membership!))
        {
            var redis = RedisStore.Options(cluster.Membership!);
            silo.UseRedisClustering(o => o.ConfigurationOptions = redis);
        }
        else
        {
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = MembershipStore.Invariant;
                o.ConnectionString = MembershipStore.ConnectionString(cluster.Membership!);
            });
        }
        // The stream catalog outlives any one silo: it lives in the cluster's store, written only if unchanged since read.
        silo.AddClusterGrainStorage(settings, StreamCatalogGrain.StorageName);
        silo.Services.Configure<ClusterMembershipOptions>(configuration.GetSection(MembershipSection));
        var routes = silo.Services.AddNatsRoutes(address, cluster.RoutePort, anyAddress);
        silo.UseSiloMetadata(new Dictionary<string, string> { [ClientUrlKey] = clientUrl, [DataIdKey] = node.DataId, [routes.Key] = routes.Value });
        silo.Services.AddHostedService(sp => ActivatorUtilities.CreateInstance<ClusterPeers>(sp, clientUrl));
    }

    /// <summary>Grain state kept in the cluster's store (PostgreSQL or Redis), keyed by the cluster, written only if unchanged since read.</summary>
    public static void AddClusterGrainStorage(this ISiloBuilder silo, SiloSettings settings, string name)
    {
        var store = settings.Cluster.Membership!;
        if (RedisStore.Is(store))
        {
            var redis = RedisStore.Options(store);
            silo.AddRedisGrainStorage(name, o => o.ConfigurationOptions = redis);
        }
        else
        {
            silo.AddPostgresGrainStorage(name, MembershipStore.ConnectionString(store));
        }
    }

    /// <summary>
    /// The address the other silos reach this one on: cluster.host, else the client address; a wildcard address
    /// listens everywhere and advertises this host's first address.
    /// </summary>
    public static (IPAddress Address, bool AnyAddress) SiloAddress(SiloSettings settings)
    {
        var host = settings.Cluster.Host ?? settings.Nats.Host;
        if (IsAnyAddress(host))
        {
            var addresses = Dns.GetHostAddresses(Dns.GetHostName());
            var first = Array.Find(addresses, a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
            return (first ?? IPAddress.Loopback, true);
        }
        if (IPAddress.TryParse(host, out var ip))
            return (ip, false);
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            return (IPAddress.Loopback, false);
        return (Dns.GetHostAddresses(host)[0], false);
    }

    /// <summary>The client host:port other silos advertise for this one: client_advertise, else the bound address.</summary>
    public static string ClientUrl(SiloSettings settings, int natsPort)
    {
        if (settings.ClientAdvertise is { } advertise)
            return advertise.Contains(':') ? advertise : $"{advertise}:{natsPort}";
        var host = IsAnyAddress(settings.Nats.Host) ? SiloAddress(settings).Address.ToString() : settings.Nats.Host;
        return $"{host}:{natsPort}";
    }

    private static bool IsAnyAddress(string host) => host is "0.0.0.0" or "::" or "[::]" or "";
}
