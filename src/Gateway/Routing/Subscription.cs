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

    /// <summary>Auto-unsubscribe after this many deliveries in total; 0 for none.</summary>
    public long Max { get; set; }

    public long Delivered => Volatile.Read(ref _delivered);

    public volatile bool Closed;

    /// <summary>Counts a delivery; true when this one reached the subscription's max and it must be removed.</summary>
    public bool CountDelivery() => Interlocked.Increment(ref _delivered) is var n && Max > 0 && n >= Max;
}
