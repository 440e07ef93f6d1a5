using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Platform.Gateway.Server;

namespace Platform.Gateway.Cluster;

/// <summary>
/// The routes of this silo's gateway to every other active silo, kept in step with Orleans membership: a route opens
/// when a silo becomes active (and sends it a snapshot of this silo's interest), and closes when the silo shuts down or
/// is declared dead, dropping everything it announced. A lone silo has no routes, and then no publish does any
/// cross-silo work: route subscriptions are what sends messages elsewhere, and there are none.
/// </summary>
/// <remarks>
/// Routes travel on their own connections (<see cref="RouteTransport"/>): a host without one (a silo alone) has no
/// routes to open.
/// </remarks>
internal sealed class ClusterRoutes(NatsServer server, IClusterMembershipService membership, ILocalSiloDetails local,
    IOptions<ClusterOptions> cluster, ILogger<ClusterRoutes> logger, RouteTransport? transport = null,
    ISiloMetadataCache? metadata = null) : IHostedService
{
    private readonly Dictionary<SiloAddress, Route> _peers = [];
    /// <summary>Silos seen leaving: a silo address carries its start generation, so one that left never comes back.</summary>
    private readonly HashSet<SiloAddress> _gone = [];
    private readonly CancellationTokenSource _stopping = new();
    private Task _watch = Task.CompletedTask;
    private Task _accept = Task.CompletedTask;
    /// <summary>The open routes as an array that readers take without a lock (publishers check it once per read).</summary>
    private volatile Route[] _open = [];

    public NatsServer Server => server;
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
        if (transport is null)
            return Task.CompletedTask;
        _watch = Task.Run(WatchAsync, CancellationToken.None);
        _accept = Task.Run(AcceptAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        transport?.Dispose();
        try
        {
            await Task.WhenAll(_watch, _accept);
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
            // A send to a silo that hangs would otherwise hold the stop until the socket gives up.
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

    /// <summary>Connects to <paramref name="silo"/>'s route port, which it advertises in its silo metadata.</summary>
    public async Task<RouteConnection> ConnectAsync(SiloAddress silo)
    {
        // Orleans fetches a joining silo's metadata after the membership change that announces it: until then the
        // lookup finds nothing, and the route's send loop tries again after a short wait.
        var endpoint = metadata?.GetSiloMetadata(silo).Metadata.GetValueOrDefault(RouteTransport.MetadataKey)
            ?? throw new InvalidOperationException("its route endpoint is not known yet");
        return await RouteTransport.ConnectAsync(endpoint, cluster.Value.ClusterId, Self, _stopping.Token).ConfigureAwait(false);
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await transport!.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                logger.LogWarning("Accepting a route connection failed: {Error}", ex.Message);
                continue;
            }
            _ = Task.Run(() => ReadAsync(socket));
        }
    }

    /// <summary>
    /// Applies what one peer's connection brings, batch by batch, until it closes. A batch that arrived in pieces is
    /// copied together into a pooled buffer; one in a single piece is applied where it lies.
    /// </summary>
    private async Task ReadAsync(Socket socket)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var reader = PipeReader.Create(stream);
        try
        {
            var origin = await RouteTransport.ReadHelloAsync(reader, cluster.Value.ClusterId, _stopping.Token).ConfigureAwait(false);
            if (origin is null)
            {
                logger.LogWarning("Refused a route connection from {Remote}: not a route of cluster {Cluster}", socket.RemoteEndPoint, cluster.Value.ClusterId);
                return;
            }
            while (true)
            {
                var result = await reader.ReadAsync(_stopping.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                RouteTransport.UnitStatus status;
                Route? route = null;
                while ((status = RouteTransport.TryReadUnit(ref buffer, RouteTransport.BatchLimit, out var batch)) == RouteTransport.UnitStatus.Complete)
                    route = Receive(origin, batch) ?? route;
                if (status == RouteTransport.UnitStatus.Invalid)
                {
                    logger.LogWarning("Route connection from {Silo} sent a batch length out of bounds; closing it", origin);
                    return;
                }
                if (result.IsCompleted)
                    return;
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (route is not null)
                    await route.WaitForClientsAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            // The peer went away or the silo stops: the peer's send loop reconnects and resends its interest.
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private Route? Receive(SiloAddress origin, in ReadOnlySequence<byte> batch)
    {
        if (batch.IsSingleSegment)
            return Receive(origin, batch.First);
        var copy = ArrayPool<byte>.Shared.Rent((int)batch.Length);
        try
        {
            batch.CopyTo(copy);
            return Receive(origin, copy.AsMemory(0, (int)batch.Length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>
    /// A batch from <paramref name="origin"/>. It may come before this silo's membership view has the sender active, so
    /// the route opens here too; a batch from a silo that left is dropped.
    /// </summary>
    private Route? Receive(SiloAddress origin, ReadOnlyMemory<byte> frames)
    {
        var route = Open(origin);
        route?.Receive(frames, server);
        return route;
    }
}
