using System.Buffers;
using Platform.Gateway.Server;

namespace Platform.Gateway.Cluster;

/// <summary>
/// The silos one publish goes to, gathered while the publish is matched: each peer once however many of its route
/// subscriptions matched, with the queue groups it was picked for, as nats-server's route targets. Per thread and
/// reused, so the cross-silo path allocates nothing per message either.
/// </summary>
internal sealed class RouteFanout
{
    [ThreadStatic] private static RouteFanout? t_current;

    private Route[] _routes = new Route[4];
    private List<byte[]>[] _queues = [[], [], [], []];
    private int _count;
    private bool _inUse;

    /// <summary>
    /// The calling thread's fanout, empty. A delivery can publish in turn on the same thread (an internal subscriber
    /// answering at once); that nested publish gets a fanout of its own rather than clearing the outer one.
    /// </summary>
    public static RouteFanout Begin()
    {
        var fanout = t_current ??= new RouteFanout();
        if (fanout._inUse)
            fanout = new RouteFanout();
        fanout._inUse = true;
        fanout._count = 0;
        return fanout;
    }

    public void Add(Route route) => IndexOf(route);

    public void AddQueue(Route route, byte[] queue) => _queues[IndexOf(route)].Add(queue);

    /// <summary>Appends the message to every gathered route's outbox; true when any took it.</summary>
    public bool Send(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> visible, ReadOnlySpan<byte> reply, int headerLength,
        in ReadOnlySequence<byte> message, HashSet<OutboundBuffer>? touched)
    {
        bool sent = false;
        // The visible subject travels only when it differs (JetStream deliveries); the peer shows the subject otherwise.
        var shown = visible == subject ? default : visible;
        for (int i = 0; i < _count; i++)
        {
            var route = _routes[i];
            var queues = _queues[i];
            if (route.TrySend(subject, shown, reply, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(queues), headerLength, message))
            {
                sent = true;
                if (touched is null)
                    route.Outbox.Signal();
                else
                    touched.Add(route.Outbox);
            }
            queues.Clear();
        }
        _count = 0;
        _inUse = false;
        return sent;
    }

    private int IndexOf(Route route)
    {
        for (int i = 0; i < _count; i++)
        {
            if (_routes[i] == route)
                return i;
        }
        if (_count == _routes.Length)
        {
            Array.Resize(ref _routes, _count * 2);
            Array.Resize(ref _queues, _count * 2);
            for (int i = _count; i < _queues.Length; i++)
                _queues[i] = [];
        }
        _routes[_count] = route;
        return _count++;
    }
}
