using System.Buffers;
using Platform.Gateway.Server;

namespace Platform.Gateway.Routing;

/// <summary>Receives messages on behalf of the server itself (the JetStream API, acks) rather than a client.</summary>
internal interface IInternalSubscriber
{
    /// <summary>Called on the publisher's read loop: copy what must outlive the call.</summary>
    void OnMessage(Subscription subscription, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength, in ReadOnlySequence<byte> message, NatsClient? publisher);
}

/// <summary>One SUB of a client, or an internal subscription of the server.</summary>
internal sealed class Subscription
{
    private long _delivered;

    public Subscription(string subject, string? queue, byte[] sid, NatsClient? client, IInternalSubscriber? handler)
        : this(System.Text.Encoding.UTF8.GetBytes(subject), subject, queue, sid, client, handler)
    {
    }

    /// <summary>A subscription to the subject bytes a client sent.</summary>
    public Subscription(ReadOnlySpan<byte> subject, string? queue, byte[] sid, NatsClient? client, IInternalSubscriber? handler)
        : this(subject.ToArray(), System.Text.Encoding.UTF8.GetString(subject), queue, sid, client, handler)
    {
    }

    /// <summary>
    /// Another silo's interest in a subject (and queue group), as its route announced it: what a route subscription is
    /// in nats-server's sublist. <paramref name="weight"/> is the number of that silo's members of the queue group.
    /// </summary>
    public Subscription(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> queue, int weight, Cluster.Route route)
        : this(subject.ToArray(), System.Text.Encoding.UTF8.GetString(subject), queue.IsEmpty ? null : System.Text.Encoding.Latin1.GetString(queue), [], null, null)
    {
        Route = route;
        QueueKey = queue.IsEmpty ? null : queue.ToArray();
        Weight = weight;
    }

    private Subscription(byte[] key, string subject, string? queue, byte[] sid, NatsClient? client, IInternalSubscriber? handler)
    {
        Key = key;
        Subject = subject;
        Queue = queue;
        Sid = sid;
        Client = client;
        Handler = handler;
        AloneMatch = new SubscriptionMatch([this], []);
    }

    /// <summary>The match result when this is the only subscription a subject reaches.</summary>
    public SubscriptionMatch AloneMatch { get; }

    /// <summary>
    /// The subject pattern as UTF-8 bytes, which is what routing compares: the bytes a client sent, or a configured
    /// pattern (a stream's subjects, a permission) encoded the same way, so the two always meet.
    /// </summary>
    public byte[] Key { get; }

    /// <summary>The subject pattern as text, for monitoring.</summary>
    public string Subject { get; }
    public string? Queue { get; }
    public byte[] Sid { get; }
    public NatsClient? Client { get; }
    public IInternalSubscriber? Handler { get; }

    /// <summary>For another silo's interest: the route to that silo; null for local subscriptions.</summary>
    public Cluster.Route? Route { get; }

    /// <summary>A route subscription's queue group name as wire bytes, written into every message sent to the group.</summary>
    public byte[]? QueueKey { get; }

    /// <summary>How many members of the queue group this entry stands for: 1 locally, the remote count for a route.</summary>
    public int Weight { get; } = 1;

    /// <summary>Auto-unsubscribe after this many deliveries in total; 0 for none.</summary>
    public long Max { get; set; }

    public long Delivered => Volatile.Read(ref _delivered);

    public volatile bool Closed;

    /// <summary>Counts a delivery; true when this one reached the subscription's max and it must be removed.</summary>
    public bool CountDelivery() => Interlocked.Increment(ref _delivered) is var n && Max > 0 && n >= Max;
}
