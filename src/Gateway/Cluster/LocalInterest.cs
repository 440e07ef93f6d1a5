using System.Buffers;
using System.Text;
using Platform.Gateway.Routing;

namespace Platform.Gateway.Cluster;

/// <summary>
/// This silo's client interest as other silos see it, counted the way nats-server decides what to send on its routes:
/// a plain subject is announced when its first local subscription comes and withdrawn when the last goes (0 &lt;-&gt; 1), a
/// queue group's weight (its local member count) whenever it changes. Internal subscriptions (the JetStream API, acks)
/// are not announced: every silo serves those itself.
/// </summary>
/// <remarks>
/// One lock orders the counts, the deltas written to every route and the snapshot a new route starts with, so a route
/// sees a snapshot followed by exactly the changes after it. Counting costs one dictionary update per SUB or UNSUB even
/// on a lone silo, so the interest is known the moment a peer joins; publishing never touches it.
/// </remarks>
internal sealed class LocalInterest
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private Route[] _routes = [];

    public void Add(Subscription sub) => Change(sub, +1);

    public void Remove(Subscription sub) => Change(sub, -1);

    private void Change(Subscription sub, int delta)
    {
        var key = KeyOf(sub.Key, sub.Queue);
        Route[] routes;
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                if (delta < 0)
                    return;
                _entries[key] = entry = new Entry(sub.Key, sub.Queue is null ? null : Encoding.Latin1.GetBytes(sub.Queue));
            }
            entry.Count += delta;
            if (entry.Count <= 0)
                _entries.Remove(key);
            // Plain interest changes only on 0 <-> 1; a queue group's weight on every member.
            bool announce = entry.Queue is not null || entry.Count == 0 || (entry.Count == 1 && delta > 0);
            if (!announce)
                return;
            int weight = entry.Queue is null ? Math.Min(entry.Count, 1) : Math.Max(entry.Count, 0);
            routes = _routes;
            foreach (var route in routes)
                route.SendInterest(entry.Subject, entry.Queue, weight);
        }
        // Woken outside the lock: a route's send loop may run on this thread from here (Route.SendLoopAsync).
        foreach (var route in routes)
            route.Outbox.Signal();
    }

    /// <summary>Starts sending deltas to <paramref name="route"/>; it asks for the <see cref="Snapshot"/> itself.</summary>
    public void Attach(Route route)
    {
        lock (_gate)
            _routes = [.. _routes, route];
    }

    public void Detach(Route route)
    {
        lock (_gate)
            _routes = Array.FindAll(_routes, r => r != route);
    }

    /// <summary>A reset followed by every current interest, for a new route or one that lost a batch.</summary>
    public byte[] Snapshot()
    {
        lock (_gate)
        {
            var buffer = new ArrayBufferWriter<byte>();
            buffer.GetSpan(1)[0] = RouteFrames.Reset;
            buffer.Advance(1);
            foreach (var entry in _entries.Values)
            {
                int size = RouteFrames.InterestSize(entry.Subject.Length, entry.Queue?.Length ?? 0);
                int weight = entry.Queue is null ? 1 : entry.Count;
                buffer.Advance(RouteFrames.WriteInterest(buffer.GetSpan(size), entry.Subject, entry.Queue, weight));
            }
            return buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary>Subjects never hold a space, so subject + space + queue is unique.</summary>
    public static string KeyOf(ReadOnlySpan<byte> subject, string? queue)
        => queue is null ? Encoding.Latin1.GetString(subject) : Encoding.Latin1.GetString(subject) + " " + queue;

    private sealed class Entry(byte[] subject, byte[]? queue)
    {
        public byte[] Subject { get; } = subject;
        public byte[]? Queue { get; } = queue;
        public int Count;
    }
}
