using System.Collections.Concurrent;
using Platform.Grains.Node;
using Platform.Grains.Streams;

namespace Platform.Grains.Cluster;

/// <summary>
/// This silo's copy of the stream catalog: where each stream partition lives (read by <see cref="StreamHomeDirector"/>
/// on every activation) and the change feed the gateway's capture table follows (<see cref="CatalogChanges"/>).
/// The catalog grain sends every change to every silo's view before it replies (<see cref="ICatalogViewGrain"/>); a
/// view that sees a version gap, or joins late, reloads the whole catalog.
/// </summary>
internal sealed class CatalogView(CatalogChanges changes, IGrainFactory grains)
{
    /// <summary>Request-context key under which the catalog passes the <see cref="CatalogEntry"/> it is acting on.</summary>
    internal const string EntryHint = "platform.catalog-entry";

    private readonly ConcurrentDictionary<string, CatalogEntry> _streams = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private long _version = -1;

    public long Version => Volatile.Read(ref _version);

    /// <summary>The node the catalog ran on at its last change (nats-server's meta leader); empty until one arrives.</summary>
    public string Leader { get; private set; } = "";

    public bool TryGet(string stream, out CatalogEntry entry) => _streams.TryGetValue(stream, out entry!);

    /// <summary>
    /// The catalog's entry for a stream: the one the catalog's own call carries (a create, which no view knows yet),
    /// else this view's, else the catalog grain's; null for a stream the catalog does not know.
    /// </summary>
    public async ValueTask<CatalogEntry?> FindAsync(string stream, object? hint)
    {
        if (hint is CatalogEntry hinted && hinted.Config.Name == stream)
            return hinted;
        if (_streams.TryGetValue(stream, out var known))
            return known;
        return await grains.GetGrain<IStreamCatalogGrain>(0).Get(stream);
    }

    /// <summary>
    /// Refuses an activation of a stream partition's grain (or, with partition 0, a consumer's) on a node that does not
    /// hold the data the catalog names: placement only picks the home, but a call that raced a move can still reach
    /// the old home, and a wiped or replaced store would serve the stream empty.
    /// </summary>
    public async Task EnsureHomeAsync(NodeIdentity node, string stream, int partition)
    {
        if (!node.IsCluster || await FindAsync(stream, RequestContext.Get(EntryHint)) is not { } entry)
            return;
        if (entry.HomeOf(partition) != node.Name)
            throw new StreamOfflineException(stream, $"its home is {entry.HomeOf(partition)}, not {node.Name}", misplaced: true);
        if (entry.DataIdOf(partition) != node.DataId)
            throw new StreamOfflineException(stream, $"its data is missing on {node.Name} (the store there holds other data)");
    }

    /// <summary>Applies one change; false when the view missed earlier ones and must <see cref="Load"/> instead.</summary>
    public bool Apply(long version, CatalogEntry? set, string? removed, string leader)
    {
        lock (_lock)
        {
            Leader = leader;
            if (version <= _version)
                return true;
            if (version != _version + 1)
                return false;
            _version = version;
            if (set is not null)
            {
                _streams[set.Config.Name] = set;
                changes.OnSet(set.Config);
            }
            if (removed is not null && _streams.TryRemove(removed, out _))
                changes.OnRemoved(removed);
        }
        return true;
    }

    public void Load(CatalogSnapshot snapshot)
    {
        lock (_lock)
        {
            Leader = snapshot.Leader;
            if (snapshot.Version <= _version)
                return;
            _version = snapshot.Version;
            var current = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in snapshot.Streams)
            {
                current.Add(entry.Config.Name);
                _streams[entry.Config.Name] = entry;
                changes.OnSet(entry.Config);
            }
            foreach (var name in _streams.Keys)
                if (!current.Contains(name) && _streams.TryRemove(name, out _))
                    changes.OnRemoved(name);
        }
    }
}
