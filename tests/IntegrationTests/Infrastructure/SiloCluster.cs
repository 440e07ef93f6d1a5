using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.TestingHost;
using Platform.Gateway;
using Platform.Gateway.Cluster;
using Platform.Gateway.Server;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>
/// Several silos in this process (Orleans' InProcessTestCluster: in-memory transport and membership), each hosting the
/// NATS gateway on its own free port, so real NATS clients talk to each silo over TCP while the silos reach each
/// other over route connections, as silo processes do (ProcessCluster runs those).
/// </summary>
public sealed class SiloCluster : ICoreCluster
{
    private readonly InProcessTestCluster _cluster;
    private readonly List<InProcessSiloHandle> _silos;

    private SiloCluster(InProcessTestCluster cluster)
    {
        _cluster = cluster;
        _silos = [.. cluster.Silos];
        Urls = [.. _silos.Select(s => $"nats://127.0.0.1:{s.SiloHost.Services.GetRequiredService<GatewayEndpoints>().NatsPort}")];
    }

    public IReadOnlyList<string> Urls { get; }

    /// <summary>
    /// Starts <paramref name="silos"/> silos, each with its route listener on loopback. <paramref name="maxPending"/> is
    /// each gateway's max_pending, which also bounds what a route holds.
    /// </summary>
    public static async Task<SiloCluster> StartAsync(int silos = 3, long maxPending = 64L * 1024 * 1024)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        // The default writes a log file per silo into the working directory.
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            var routes = silo.Services.AddNatsRoutes(IPAddress.Loopback);
            silo.UseSiloMetadata(new Dictionary<string, string> { [routes.Key] = routes.Value });
        });
        builder.ConfigureSiloHost((_, host) =>
        {
            var endpoints = host.Services.AddNatsGatewayServices(new NatsOptions { Host = "127.0.0.1", Port = -1, HttpPort = 0, MaxPending = maxPending });
            host.Services.AddHostedService(sp => new NatsListener(sp, endpoints));
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new SiloCluster(cluster);
    }

    /// <summary>The services of silo <paramref name="node"/>, for what a client cannot see (its routes).</summary>
    internal IServiceProvider Services(int node) => _silos[node].SiloHost.Services;

    /// <summary>A graceful stop: the silo leaves the membership (shutting down, then dead) and its gateway closes.</summary>
    public Task StopNodeAsync(int node) => _cluster.StopSiloAsync(_silos[node]);

    public async ValueTask DisposeAsync()
    {
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
    }
}
