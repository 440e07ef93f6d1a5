using System.Collections.Concurrent;
using Platform.Grains.Subjects;

namespace Platform.Gateway.Routing;

/// <summary>
/// The subscription trie, one level per subject token, with '*' and '&gt;' children, and a cache of match results
/// by literal subject. Subjects are UTF-8 bytes throughout (wire subjects as sent, configured patterns encoded), so
/// matching never decodes them. Mutations and cache fills take the write lock, uncached matches the read lock, and cache hits
/// no lock. A mutation drops every cached result its pattern could change, so a result in the cache is always the
/// trie's current answer.
/// </summary>
/// <remarks>
/// Uncached matches are the common case for pub acks and request replies (a new inbox subject each time). Under one
/// exclusive lock, connections acking on different threads queued behind each other: a profile of 4-stream publishing
/// showed the lock's contended path as the largest single cost in the gateway.
/// </remarks>
internal sealed class SubjectRouter
{
    /// <summary>nats-server's sublist cache holds 1024 subjects; past that we drop half.</summary>
    private const int CacheLimit = 1024;

    private readonly ReaderWriterLockSlim _gate = new(LockRecursionPolicy.NoRecursion);
    private readonly Node _root = new();
    private readonly ConcurrentDictionary<byte[], SubscriptionMatch> _cache = new(SubjectKeyComparer.Instance);
    private readonly ConcurrentDictionary<byte[], SubscriptionMatch>.AlternateLookup<ReadOnlySpan<byte>> _cacheLookup;
    private int _count;
    /// <summary>Hashes of subjects that missed the cache lately; a second miss gets the subject cached.</summary>
    private readonly int[] _recentMisses = new int[4096];
    // Readers walk the trie concurrently, so each thread collects into scratch of its own.
    [ThreadStatic] private static List<Subscription>? t_plainScratch;
    [ThreadStatic] private static Dictionary<string, List<Subscription>>? t_queueScratch;
    /// <summary>Entries in the cache, maintained under the write lock.</summary>
    private int _cachedApprox;
    /// <summary>/subsz counters changed only under the write lock, so plain fields suffice.</summary>
    private long _inserts, _removes;
    /// <summary>Misses happen under the read lock too, so this one is counted with Interlocked.</summary>
    private long _misses;
    /// <summary>
    /// Cache hits are the one counter on the lock-free path: one Interlocked increment per hit, as nats-server's sublist
    /// does, on a cache line of its own so it does not evict the fields every Match reads (_cache, _cacheLookup).
    /// </summary>
    private PaddedCounter _hits;

    public SubjectRouter() => _cacheLookup = _cache.GetAlternateLookup<ReadOnlySpan<byte>>();

    public int Count => Volatile.Read(ref _count);
    public int CacheCount => _cache.Count;

    public void Add(Subscription subscription)
    {
        _gate.EnterWriteLock();
        try
        {
            var node = _root;
            var rest = subscription.Key.AsSpan();
            while (true)
            {
                int dot = rest.IndexOf((byte)'.');
                node = node.Child(dot < 0 ? rest : rest[..dot]);
                if (dot < 0)
                    break;
                rest = rest[(dot + 1)..];
            }
            if (subscription.Queue is null)
            {
                node.Plain.Add(subscription);
            }
            else
            {
                node.Queues ??= new Dictionary<string, List<Subscription>>(StringComparer.Ordinal);
                if (!node.Queues.TryGetValue(subscription.Queue, out var members))
                    node.Queues[subscription.Queue] = members = [];
                members.Add(subscription);
            }
            _count++;
            _inserts++;
            Invalidate(subscription.Key);
        }
        finally
        {
            _gate.ExitWriteLock();
        }
    }

    public bool Remove(Subscription subscription)
    {
        _gate.EnterWriteLock();
        try
        {
            if (!Remove(_root, subscription, subscription.Key))
                return false;
            _count--;
            _removes++;
            Invalidate(subscription.Key);
            return true;
        }
        finally
        {
            _gate.ExitWriteLock();
        }
    }

    /// <summary>Matches a literal subject given as wire bytes. Allocates only on a cache miss.</summary>
    public SubscriptionMatch Match(ReadOnlySpan<byte> subject)
    {
        if (_cacheLookup.TryGetValue(subject, out var cached))
        {
            Interlocked.Increment(ref _hits.Value);
            return cached;
        }
        return MatchUncached(subject);
    }

    /// <summary>
    /// A miss is cached only when the subject missed recently as well. Request replies and pub acks go to a new inbox
    /// subject every time; caching those would allocate per message and evict the subjects that do repeat.
    /// </summary>
    private SubscriptionMatch MatchUncached(ReadOnlySpan<byte> subject)
    {
        int hash = SubjectKeyComparer.Instance.GetHashCode(subject);
        ref int slot = ref _recentMisses[(uint)hash % (uint)_recentMisses.Length];
        if (slot == hash)
            return MatchAndCache(subject.ToArray());
        slot = hash;
        Interlocked.Increment(ref _misses);
        _gate.EnterReadLock();
        try
        {
            return Compute(subject);
        }
        finally
        {
            _gate.ExitReadLock();
        }
    }

    /// <summary>Whether any subscription matches the literal subject.</summary>
    public bool HasInterest(ReadOnlySpan<byte> subject) => !Match(subject).IsEmpty;

    /// <summary>Walks the trie; called under either lock. A lone plain subscriber's answer is prebuilt, so that common
    /// case (an inbox with one subscriber) allocates nothing. A subject with an empty token matches nothing, not even
    /// '&gt;', as in nats-server's sublist: it is neither delivered nor stored.</summary>
    private SubscriptionMatch Compute(ReadOnlySpan<byte> subject)
    {
        if (SubjectMatch.HasEmptyToken(subject))
            return SubscriptionMatch.Empty;
        var plain = t_plainScratch ??= [];
        var queues = t_queueScratch ??= new Dictionary<string, List<Subscription>>(StringComparer.Ordinal);
        plain.Clear();
        queues.Clear();
        Collect(_root, subject, plain, queues);
        SubscriptionMatch result;
        if (queues.Count == 0 && plain.Count <= 1)
            result = plain.Count == 0 ? SubscriptionMatch.Empty : plain[0].AloneMatch;
        else
            result = new SubscriptionMatch([.. plain], [.. queues.Values.Select(members => members.ToArray())]);
        // The scratch outlives the call: holding no subscriptions keeps closed connections collectable.
        plain.Clear();
        queues.Clear();
        return result;
    }

    private SubscriptionMatch MatchAndCache(byte[] subject)
    {
        Interlocked.Increment(ref _misses);
        _gate.EnterWriteLock();
        try
        {
            var result = Compute(subject);
            // ConcurrentDictionary.Count takes every bucket lock; an approximate count under our lock is enough.
            if (_cachedApprox >= CacheLimit)
                Shrink();
            if (_cache.TryAdd(subject, result))
                _cachedApprox++;
            else
                _cache[subject] = result;
            return result;
        }
        finally
        {
            _gate.ExitWriteLock();
        }
    }

    /// <summary>
    /// nats-server's sublist statistics. Fanout is taken over the cached results (plain subscriptions plus queue groups,
    /// each group counting once), as nats-server computes it; the walk runs only when monitoring asks.
    /// </summary>
    public RouterStats Stats()
    {
        long inserts, removes, misses;
        int count;
        _gate.EnterReadLock();
        try
        {
            inserts = _inserts;
            removes = _removes;
            count = _count;
        }
        finally
        {
            _gate.ExitReadLock();
        }
        misses = Interlocked.Read(ref _misses);
        long hits = Interlocked.Read(ref _hits.Value);
        int cached = 0, max = 0;
        long total = 0;
        foreach (var (_, match) in _cache)
        {
            int fanout = match.Plain.Length + match.QueueGroups.Length;
            cached++;
            total += fanout;
            max = Math.Max(max, fanout);
        }
        long matches = hits + misses;
        return new RouterStats(count, cached, inserts, removes, matches,
            matches > 0 ? (double)hits / matches : 0, max, total > 0 ? (double)total / cached : 0);
    }

    private void Shrink()
    {
        int toRemove = _cachedApprox / 2;
        foreach (var (key, _) in _cache)
        {
            if (toRemove-- <= 0) break;
            _cache.TryRemove(key, out _);
        }
        _cachedApprox = _cache.Count;
    }

    private void Invalidate(byte[] pattern)
    {
        if (_cache.IsEmpty)
            return;
        foreach (var (key, _) in _cache)
        {
            if (SubjectMatch.Matches(key, pattern) && _cache.TryRemove(key, out _))
                _cachedApprox--;
        }
    }

    private static void Collect(Node node, ReadOnlySpan<byte> rest, List<Subscription> plain, Dictionary<string, List<Subscription>> queues)
    {
        int dot = rest.IndexOf((byte)'.');
        var token = dot < 0 ? rest : rest[..dot];
        var remainder = dot < 0 ? default : rest[(dot + 1)..];
        bool last = dot < 0;

        if (node.Full is { } full)
            AddAll(full, plain, queues);
        if (node.Literals is { } literals && literals.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(token, out var child))
        {
            if (last) AddAll(child, plain, queues);
            else Collect(child, remainder, plain, queues);
        }
        if (node.Star is { } star)
        {
            if (last) AddAll(star, plain, queues);
            else Collect(star, remainder, plain, queues);
        }
    }

    /// <summary>
    /// Queue members gather by group name across nodes, as nats-server's sublist does: a group whose members
    /// subscribed to foo.bar and foo.* is still one group, and a message reaches one of them, not one per pattern.
    /// </summary>
    private static void AddAll(Node node, List<Subscription> plain, Dictionary<string, List<Subscription>> queues)
    {
        plain.AddRange(node.Plain);
        if (node.Queues is null)
            return;
        foreach (var (name, members) in node.Queues)
        {
            if (members.Count == 0)
                continue;
            if (!queues.TryGetValue(name, out var group))
                queues[name] = group = [];
            group.AddRange(members);
            // A route entry stands for all of that silo's members, so it appears once per member, as in nats-server's
            // sublist: a random pick over the group then spreads messages evenly over every member in the cluster.
            foreach (var member in members)
            {
                for (int i = 1; i < member.Weight; i++)
                    group.Add(member);
            }
        }
    }

    private static bool Remove(Node node, Subscription subscription, ReadOnlySpan<byte> rest)
    {
        int dot = rest.IndexOf((byte)'.');
        var token = dot < 0 ? rest : rest[..dot];
        var child = node.Find(token);
        if (child is null)
            return false;
        bool removed;
        if (dot < 0)
        {
            if (subscription.Queue is null)
            {
                removed = child.Plain.Remove(subscription);
            }
            else if (child.Queues is not null && child.Queues.TryGetValue(subscription.Queue, out var members))
            {
                removed = members.Remove(subscription);
                if (members.Count == 0)
                    child.Queues.Remove(subscription.Queue);
            }
            else
            {
                removed = false;
            }
        }
        else
        {
            removed = Remove(child, subscription, rest[(dot + 1)..]);
        }
        if (removed && child.IsEmpty)
            node.Prune(token);
        return removed;
    }

    /// <summary>Whether a subscription pattern matches a literal subject, both as text (monitoring's test subject).</summary>
    internal static bool PatternMatches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> subject)
        => SubjectMatch.Matches(subject, pattern);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit, Size = 128)]
    private struct PaddedCounter
    {
        [System.Runtime.InteropServices.FieldOffset(64)] public long Value;
    }

    private sealed class Node
    {
        public Dictionary<byte[], Node>? Literals;
        public Node? Star;
        public Node? Full;
        public readonly List<Subscription> Plain = [];
        public Dictionary<string, List<Subscription>>? Queues;

        public bool IsEmpty => Plain.Count == 0 && (Queues is null || Queues.Count == 0)
            && (Literals is null || Literals.Count == 0) && Star is null && Full is null;

        public Node Child(ReadOnlySpan<byte> token)
        {
            if (IsToken(token, '*'))
                return Star ??= new Node();
            if (IsToken(token, '>'))
                return Full ??= new Node();
            Literals ??= new Dictionary<byte[], Node>(SubjectKeyComparer.Instance);
            var lookup = Literals.GetAlternateLookup<ReadOnlySpan<byte>>();
            if (!lookup.TryGetValue(token, out var child))
                lookup[token] = child = new Node();
            return child;
        }

        public Node? Find(ReadOnlySpan<byte> token)
        {
            if (IsToken(token, '*')) return Star;
            if (IsToken(token, '>')) return Full;
            return Literals is not null && Literals.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(token, out var child) ? child : null;
        }

        public void Prune(ReadOnlySpan<byte> token)
        {
            if (IsToken(token, '*')) Star = null;
            else if (IsToken(token, '>')) Full = null;
            else Literals?.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(token);
        }

        private static bool IsToken(ReadOnlySpan<byte> token, char c) => token.Length == 1 && token[0] == c;
    }
}

/// <summary>The router's counters in nats-server's /subsz terms.</summary>
internal readonly record struct RouterStats(int Subscriptions, int Cached, long Inserts, long Removes, long Matches,
    double CacheHitRate, int MaxFanout, double AvgFanout);
