using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Platform.Gateway.Server;

namespace Platform.Gateway.Cluster;

/// <summary>
/// The routes of this silo's gateway to every other active silo, kept in step with Orleans membership: a route opens
/// when a silo becomes active (and sends it a snapshot of this silo's interest), and closes when the silo shuts down or
/// is declared dead, dropping everything it announced. A lone silo has no routes, and then no publish does any
/// cross-silo work: route subscriptions are what sends messages elsewhere, and there are none.
/// </summary>
internal sealed class ClusterRoutes(NatsServer server, IClusterMembershipService membership, ILocalSiloDetails local,
    IGrainFactory grains, ILogger<ClusterRoutes> logger) : IHostedService
{
    private readonly Dictionary<SiloAddress, Route> _peers = [];
    /// <summary>Silos seen leaving: a silo address carries its start generation, so one that left never comes back.</summary>
    private readonly HashSet<SiloAddress> _gone = [];
    private readonly CancellationTokenSource _stopping = new();
    private Task _watch = Task.CompletedTask;
    /// <summary>The open routes as an array that readers take without a lock (publishers check it once per read).</summary>
    private volatile Route[] _open = [];

    public NatsServer Server => server;
    public IGrainFactory Grains => grains;
    public SiloAddress Self => local.SiloAddress;
    public ILogger Logger => logger;

    /// <summary>The routes open now (monitoring's /routez).</summary>
    public Route[] OpenRoutes => _open;

    /// <summary>A route past its high-water mark, if any; null on a lone silo without a look at anything else.</summary>
    public Route? Congested()
    {
        foreach (var route in _open)
        {
            if (route.Congested)
                return route;
        }
        return null;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        server.Routes = this;
        _watch = Task.Run(WatchAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        try
        {
            await _watch;
        }
        catch (OperationCanceledException)
        {
        }
        Route[] routes;
        lock (_peers)
        {
            routes = [.. _peers.Values];
            _peers.Clear();
            _open = [];
        }
        foreach (var route in routes)
            Close(route);
        try
        {
            // A call in flight to a silo that hangs would otherwise hold the stop until Orleans' response timeout.
            await Task.WhenAll(routes.Select(r => r.Sender)).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Follows membership until the host stops; a failure of the update stream is logged and the watch resumes.</summary>
    private async Task WatchAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await FollowAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
            {
                logger.LogError(ex, "Following cluster membership failed; resuming");
                await Task.Delay(TimeSpan.FromSeconds(1), _stopping.Token);
            }
        }
    }

    private async Task FollowAsync()
    {
        await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(_stopping.Token))
        {
            foreach (var (silo, member) in snapshot.Members)
            {
                if (silo.Equals(Self))
                    continue;
                if (member.Status == SiloStatus.Active)
                    Open(silo);
                else if (member.Status.IsTerminating())
                    Leave(silo);
            }
            Route[] missing;
            lock (_peers)
                missing = [.. _peers.Values.Where(r => !snapshot.Members.ContainsKey(r.Silo))];
            foreach (var route in missing)
                Leave(route.Silo);
        }
    }

    /// <summary>The route to <paramref name="silo"/>, opened if needed; null for a silo that left.</summary>
    private Route? Open(SiloAddress silo)
    {
        lock (_peers)
        {
            if (_peers.TryGetValue(silo, out var route))
                return route;
            if (_gone.Contains(silo) || _stopping.IsCancellationRequested)
                return null;
            route = new Route(this, silo);
            _peers[silo] = route;
            _open = [.. _peers.Values];
            // Deltas flow into the outbox from here on; the first batch the route sends is a snapshot taken after this.
            server.Interest.Attach(route);
            route.Start();
            logger.LogInformation("Route to {Silo} opened", silo);
            return route;
        }
    }

    private void Leave(SiloAddress silo)
    {
        Route? route;
        lock (_peers)
        {
            _gone.Add(silo);
            if (!_peers.Remove(silo, out route))
                return;
            _open = [.. _peers.Values];
        }
        logger.LogInformation("Route to {Silo} closed: the silo left the cluster", silo);
        Close(route);
    }

    private void Close(Route route)
    {
        server.Interest.Detach(route);
        route.Close();
    }

    /// <summary>
    /// A batch from <paramref name="origin"/>. It may come before this silo's membership view has the sender active, so
    /// the route opens here too; a batch from a silo that left is dropped.
    /// </summary>
    public void Receive(SiloAddress origin, ReadOnlyMemory<byte> frames) => Open(origin)?.Receive(frames, server);
}
