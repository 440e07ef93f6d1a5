namespace Platform.Grains.Streams;

/// <summary>
/// Puts each publisher's pipelined batches back in the order they were published (<see cref="BatchOrder"/>) before the
/// stream stores them. Orleans sends calls between two silos over either of their connections: a wire capture of one
/// NATS.Net publisher at 29.5k msgs/s through a silo that was not the stream's home saw thousands of messages a run
/// stored before messages published ahead of them on the same connection, which nats-server never does.
/// </summary>
/// <remarks>Used on the stream grain's scheduler only, so it needs no lock.</remarks>
internal sealed class PublisherTurns
{
    /// <summary>
    /// How long a batch waits for the ones before it. An overtaken batch arrives within milliseconds; one that never
    /// comes (its call failed, or went to an activation that is gone) must not hold the publisher up for longer.
    /// </summary>
    internal static readonly TimeSpan Wait = TimeSpan.FromMilliseconds(500);

    /// <summary>Past this many publishers, those idle for <see cref="Idle"/> are forgotten (connections come and go).</summary>
    private const int SweepAbove = 256;
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(30);

    private sealed class Publisher
    {
        /// <summary>The number of the batch whose turn it is.</summary>
        public ulong Next;
        public long LastSeen;
        public readonly PositionWaiters Waiting = new(Wait);
    }

    private readonly Dictionary<long, Publisher> _publishers = [];

    /// <summary>Completes when every batch of the publisher before <paramref name="order"/>'s has had its turn, or the wait ran out.</summary>
    public ValueTask WaitAsync(BatchOrder order)
    {
        if (order.IsNone)
            return ValueTask.CompletedTask;
        var publisher = Of(order);
        publisher.Next = Math.Max(publisher.Next, order.Floor);
        return order.Number <= publisher.Next ? ValueTask.CompletedTask : new ValueTask(WaitForTurnAsync(publisher, order.Number));
    }

    /// <summary>The batch has been handed on to be stored: the next one's turn.</summary>
    public void Taken(BatchOrder order)
    {
        if (order.IsNone || !_publishers.TryGetValue(order.Publisher, out var publisher))
            return;
        publisher.Next = Math.Max(publisher.Next, order.Number + 1);
        publisher.Waiting.Reached(publisher.Next);
    }

    private static async Task WaitForTurnAsync(Publisher publisher, ulong number)
    {
        // The ones before it are lost or late when the wait runs out: they will be stored after it.
        if (!await publisher.Waiting.WaitAsync(number))
            publisher.Next = Math.Max(publisher.Next, number);
    }

    private Publisher Of(BatchOrder order)
    {
        long now = Environment.TickCount64;
        if (!_publishers.TryGetValue(order.Publisher, out var publisher))
        {
            if (_publishers.Count >= SweepAbove)
                Sweep(now);
            _publishers[order.Publisher] = publisher = new Publisher { Next = order.Floor };
        }
        publisher.LastSeen = now;
        return publisher;
    }

    private void Sweep(long now)
    {
        foreach (var (id, publisher) in _publishers)
            if (publisher.Waiting.IsEmpty && now - publisher.LastSeen > Idle.TotalMilliseconds)
                _publishers.Remove(id);
    }
}
