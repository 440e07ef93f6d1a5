using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Platform.Gateway.Cluster;
using Platform.Gateway.Protocol;
using Platform.Gateway.Routing;
using Platform.Gateway.Security;

namespace Platform.Gateway.Server;

/// <summary>
/// The state every connection shares: options, the subject router, the connected clients and the counters that
/// monitoring reports. Message delivery lives here because it crosses connections.
/// </summary>
internal sealed class NatsServer
{
    private static readonly byte[] NoRespondersHeader = "NATS/1.0 503\r\n\r\n"u8.ToArray();

    private readonly ConcurrentDictionary<ulong, NatsClient> _clients = new();
    private long _nextClientId;
    private long _inMsgs, _inBytes, _outMsgs, _outBytes, _slowConsumers, _totalConnections;

    public NatsServer(NatsOptions options, ILoggerFactory loggerFactory)
    {
        Options = options;
        Logger = loggerFactory.CreateLogger("Platform.Gateway");
        StartTime = DateTime.UtcNow;
        Authenticator = new Authenticator(options);
        Tls = options.Tls is { } tls ? new ServerTls(tls) : null;
        AllowNonTls = options.AllowNonTls;
    }

    /// <summary>Set when clients must upgrade to TLS after the INFO.</summary>
    internal ServerTls? Tls { get; }
    /// <summary>With TLS configured, whether a client may connect without it (allow_non_tls).</summary>
    internal bool AllowNonTls { get; }

    public Authenticator Authenticator { get; }

    public NatsOptions Options { get; }

    /// <summary>Set by the metrics when they are on; recorded once per acknowledged JetStream publish.</summary>
    public System.Diagnostics.Metrics.Histogram<double>? PublishAckLatency { get; set; }
    public ILogger Logger { get; }
    public SubjectRouter Router { get; } = new();

    /// <summary>This silo's client interest, announced to the other silos of a cluster.</summary>
    public LocalInterest Interest { get; } = new();

    /// <summary>The routes to the other silos, once the cluster side has started.</summary>
    public ClusterRoutes? Routes { get; set; }
    public DateTime StartTime { get; }

    private Func<int> _listenPort = () => 0;
    private ServerInfo? _info;

    /// <summary>Rendered on first use, once the listener is bound and its real port known.</summary>
    public ServerInfo Info
    {
        get
        {
            if (_info is { } info)
                return info;
            lock (_clients)
            {
                if (_info is null)
                {
                    var created = new ServerInfo(Options, _listenPort());
                    if (_cluster is { } cluster)
                        created.SetCluster(cluster.Name, cluster.ConnectUrls);
                    _info = created;
                }
                return _info;
            }
        }
    }

    private ClusterView? _cluster;

    /// <summary>The cluster as last published by the membership watcher; null when the silo runs alone.</summary>
    public ClusterView? Cluster => Volatile.Read(ref _cluster);

    /// <summary>
    /// A new view of the cluster: new connections get its connect_urls in their INFO, and when the list changed the
    /// clients that accept async INFO (CONNECT protocol 1) get one at once, as nats-server sends when routes come and go.
    /// </summary>
    public void UpdateCluster(ClusterView view)
    {
        ClusterView? previous;
        lock (_clients)
        {
            previous = _cluster;
            Volatile.Write(ref _cluster, view);
            _info?.SetCluster(view.Name, view.ConnectUrls);
        }
        if (previous is not null && previous.ConnectUrls.SequenceEqual(view.ConnectUrls))
            return;
        foreach (var client in _clients.Values)
            client.SendAsyncInfo();
    }

    /// <summary>The JetStream side of the gateway, when enabled: sees every publish first.</summary>
    public IPublishInterceptor? Interceptor { get; set; }

    public int ClientCount => _clients.Count;
    public ICollection<NatsClient> Clients => _clients.Values;
    public long InMsgs => Interlocked.Read(ref _inMsgs);
    public long InBytes => Interlocked.Read(ref _inBytes);
    public long OutMsgs => Interlocked.Read(ref _outMsgs);
    public long OutBytes => Interlocked.Read(ref _outBytes);
    public long SlowConsumers => Interlocked.Read(ref _slowConsumers);
    public long TotalConnections => Interlocked.Read(ref _totalConnections);

    public void SetListenPortProvider(Func<int> listenPort) => _listenPort = listenPort;

    public ulong NextClientId() => (ulong)Interlocked.Increment(ref _nextClientId);

    /// <summary>Set when the host stops: clients are closed and new connections turned away, so shutdown never waits
    /// on a client that reconnects while the listener is still open.</summary>
    public bool ShuttingDown { get; private set; }

    public void BeginShutdown()
    {
        ShuttingDown = true;
        foreach (var client in _clients.Values)
            client.Close("Server Shutdown");
    }

    /// <summary>Set by <see cref="RunLameDuckAsync"/>: new connections are turned away, existing ones are told and
    /// then closed gradually.</summary>
    public bool LameDuck { get; private set; }

    /// <summary>
    /// Lame duck mode as nats-server has it: stop taking new clients, send every client an INFO with "ldm":true so it
    /// can move to another server, wait the grace period, then close the clients spread over the rest of the lame duck
    /// duration (at most one interval of a second between closes, so a few clients do not take the whole duration).
    /// The caller then stops the host.
    /// </summary>
    public async Task RunLameDuckAsync(CancellationToken cancellationToken)
    {
        LameDuck = true;
        Logger.LogInformation("Entering lame duck mode, stop accepting new clients");
        foreach (var client in _clients.Values)
            client.SendLameDuckInfo();
        if (_clients.IsEmpty)
            return;
        var duration = Options.LameDuckDuration;
        var grace = Options.LameDuckGracePeriod;
        if (grace >= duration)
            grace = TimeSpan.Zero;
        await Task.Delay(grace, cancellationToken);
        Logger.LogInformation("Closing existing clients");
        var clients = _clients.Values.ToArray();
        if (clients.Length == 0)
            return;
        Random.Shared.Shuffle(clients);
        var window = duration - grace;
        var interval = window / clients.Length;
        int batch = 1;
        var minimum = TimeSpan.FromMilliseconds(10);
        if (interval < minimum)
        {
            // Many clients: close several every 10 ms rather than sleeping less.
            batch = (int)Math.Ceiling(clients.Length / Math.Max(1, window / minimum));
            interval = minimum;
        }
        else if (interval > TimeSpan.FromSeconds(1))
        {
            interval = TimeSpan.FromSeconds(1);
        }
        for (int i = 0; i < clients.Length; i += batch)
        {
            if (i > 0)
                await Task.Delay(interval, cancellationToken);
            for (int j = i; j < Math.Min(i + batch, clients.Length); j++)
                clients[j].Close("Server Shutdown");
        }
    }

    public bool TryRegister(NatsClient client)
    {
        if (_clients.Count >= Options.MaxConnections || ShuttingDown || LameDuck)
            return false;
        _clients[client.Id] = client;
        Interlocked.Increment(ref _totalConnections);
        return true;
    }

    public void Unregister(NatsClient client) => _clients.TryRemove(client.Id, out _);

    public void CountSlowConsumer() => Interlocked.Increment(ref _slowConsumers);

    /// <summary>
    /// Delivers one message to every matching subscription. Outbound buffers touched are added to
    /// <paramref name="touched"/> so the publisher wakes each writer once per read; with null they are woken at once.
    /// </summary>
    /// <returns>Whether any subscription received the message.</returns>
    public bool Deliver(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength, in ReadOnlySequence<byte> message,
        NatsClient? publisher, HashSet<OutboundBuffer>? touched)
        => Deliver(subject, subject, reply, headerLength, message, publisher, touched);

    /// <summary>
    /// Routes by <paramref name="subject"/> but shows subscribers <paramref name="visibleSubject"/>: JetStream delivers a
    /// stored message to an inbox or deliver subject under the subject it was published on.
    /// </summary>
    public bool Deliver(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> visibleSubject, ReadOnlySpan<byte> reply, int headerLength,
        in ReadOnlySequence<byte> message, NatsClient? publisher, HashSet<OutboundBuffer>? touched)
    {
        Interlocked.Increment(ref _inMsgs);
        Interlocked.Add(ref _inBytes, message.Length);
        var match = Router.Match(subject);
        if (match.IsEmpty)
            return false;
        bool delivered = false;
        bool echo = publisher is null || publisher.Echo;
        // Other silos' interest sits in the router as route subscriptions; a lone silo has none, so this stays null.
        RouteFanout? fanout = null;
        foreach (var sub in match.Plain)
        {
            if (sub.Route is { } route)
            {
                if (!sub.Closed)
                    (fanout ??= RouteFanout.Begin()).Add(route);
                continue;
            }
            if (!echo && sub.Client == publisher)
                continue;
            delivered |= DeliverTo(sub, subject, visibleSubject, reply, headerLength, message, publisher, touched);
        }
        foreach (var group in match.QueueGroups)
        {
            // One pick over the members of the whole cluster (a route entry appears once per remote member): a remote
            // pick sends the message to that silo naming the group, and that silo delivers to one of its members.
            int start = group.Length == 1 ? 0 : Random.Shared.Next(group.Length);
            for (int i = 0; i < group.Length; i++)
            {
                var sub = group[(start + i) % group.Length];
                if (sub.Closed || (!echo && sub.Client == publisher))
                    continue;
                if (sub.Route is { } route)
                {
                    (fanout ??= RouteFanout.Begin()).AddQueue(route, sub.QueueKey!);
                    break;
                }
                delivered |= DeliverTo(sub, subject, visibleSubject, reply, headerLength, message, publisher, touched);
                break;
            }
        }
        if (fanout is not null)
            delivered |= fanout.Send(subject, visibleSubject, reply, headerLength, message, touched);
        return delivered;
    }

    /// <summary>
    /// A message another silo matched and sent here: delivered to this silo's clients only (never to internal
    /// subscribers, which every silo's own publishes reach, and never on to a third silo: one hop), to every plain
    /// subscription and to one member of each queue group the sender picked this silo for.
    /// </summary>
    public void DeliverRouted(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> visibleSubject, ReadOnlySpan<byte> reply,
        ReadOnlySpan<byte> queues, int headerLength, in ReadOnlySequence<byte> message, HashSet<OutboundBuffer> touched)
    {
        var match = Router.Match(subject);
        if (match.IsEmpty)
            return;
        foreach (var sub in match.Plain)
        {
            if (sub.Client is not null)
                DeliverTo(sub, subject, visibleSubject, reply, headerLength, message, null, touched);
        }
        if (queues.IsEmpty)
            return;
        foreach (var group in match.QueueGroups)
        {
            if (!RouteFrames.NamesQueue(queues, group[0].Queue!))
                continue;
            int start = group.Length == 1 ? 0 : Random.Shared.Next(group.Length);
            for (int i = 0; i < group.Length; i++)
            {
                var sub = group[(start + i) % group.Length];
                if (sub.Client is null || sub.Closed)
                    continue;
                if (DeliverTo(sub, subject, visibleSubject, reply, headerLength, message, null, touched))
                    break;
            }
        }
    }

    /// <summary>Adds a subscription to the router and, for a client's, to the interest other silos see.</summary>
    public void Subscribe(Subscription sub)
    {
        Router.Add(sub);
        if (sub.Client is not null)
            Interest.Add(sub);
    }

    /// <summary>Removes a subscription from the router and, once, from the interest other silos see.</summary>
    public void RemoveSubscription(Subscription sub)
    {
        if (Router.Remove(sub) && sub.Client is not null)
            Interest.Remove(sub);
    }

    /// <summary>The 503 no-responders status, sent only to the requester's own subscription on the reply subject.</summary>
    public void SendNoResponders(NatsClient requester, ReadOnlySpan<byte> reply, HashSet<OutboundBuffer>? touched)
    {
        var match = Router.Match(reply);
        foreach (var sub in match.Plain)
        {
            if (sub.Client == requester)
            {
                DeliverTo(sub, reply, reply, default, NoRespondersHeader.Length, new ReadOnlySequence<byte>(NoRespondersHeader), null, touched);
                return;
            }
        }
    }

    private bool DeliverTo(Subscription sub, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> visibleSubject, ReadOnlySpan<byte> reply, int headerLength,
        in ReadOnlySequence<byte> message, NatsClient? publisher, HashSet<OutboundBuffer>? touched)
    {
        if (sub.Closed)
            return false;
        var permissions = sub.Client?.Permissions;
        if (permissions is { DeliveryFilter: { } filter } && !filter.IsAllowed(visibleSubject))
            return false;
        bool last = sub.CountDelivery();
        if (sub.Handler is { } handler)
        {
            handler.OnMessage(sub, subject, reply, headerLength, message, publisher);
        }
        else
        {
            var client = sub.Client!;
            if (permissions is { Responses: { } responses } && !reply.IsEmpty)
                client.AllowResponse(reply, responses);
            if (!client.Outbound.TryWriteMessage(visibleSubject, sub.Sid, reply, headerLength, message, client.Headers))
            {
                client.CloseAsSlowConsumer();
                return false;
            }
            Interlocked.Increment(ref _outMsgs);
            Interlocked.Add(ref _outBytes, message.Length);
            if (touched is null)
                client.Outbound.Signal();
            else
                touched.Add(client.Outbound);
        }
        if (last)
            Unsubscribe(sub);
        return true;
    }

    public void Unsubscribe(Subscription sub)
    {
        sub.Closed = true;
        RemoveSubscription(sub);
        sub.Client?.ForgetSubscription(sub);
    }
}
