using Platform.Grains.Cluster;

namespace Platform.Grains.Replication;

/// <summary>
/// How the catalog makes and changes replica sets: the decisions alone, so the catalog grain only stores and
/// publishes them. Every change takes the next epoch.
/// </summary>
internal static class ReplicaSetChanges
{
    /// <summary>
    /// <paramref name="count"/> nodes for new copies of a stream whose primary and copies are on <paramref name="taken"/>:
    /// the other active nodes with the fewest partitions and replicas (ties by name); null when too few are active.
    /// </summary>
    public static string[]? PickNodes(string[] taken, int count, IReadOnlyDictionary<string, int> load)
    {
        var candidates = new List<(string Node, int Load)>();
        foreach (var (name, n) in load)
            if (Array.IndexOf(taken, name) < 0)
                candidates.Add((name, n));
        if (candidates.Count < count)
            return null;
        candidates.Sort((a, b) => a.Load != b.Load ? a.Load.CompareTo(b.Load) : string.CompareOrdinal(a.Node, b.Node));
        var nodes = new string[count];
        for (int i = 0; i < nodes.Length; i++)
            nodes[i] = candidates[i].Node;
        return nodes;
    }

    /// <summary>
    /// The set of a stream that gets copies on <paramref name="nodes"/> (made on <paramref name="dataIds"/>) at
    /// <paramref name="epoch"/>, in sync: each is made from the closed primary's files, so it holds every acknowledged
    /// message. <paramref name="set"/> is null for a stream of one copy until now.
    /// </summary>
    public static ReplicaSet Grow(ReplicaSet? set, string[] nodes, string[] dataIds, long epoch)
        => new(epoch, [.. set?.Nodes ?? [], .. nodes], [.. set?.DataIds ?? [], .. dataIds], [.. set?.InSync ?? [], .. nodes]);

    /// <summary>
    /// The set of a stream that keeps <paramref name="replicas"/> copies (the primary's included), at the next epoch,
    /// and the nodes whose copies go: those out of sync first, then the last named. Null for a stream left with its
    /// primary alone, which holds every acknowledged message.
    /// </summary>
    public static (ReplicaSet? Set, string[] Removed) Shrink(ReplicaSet set, int replicas)
    {
        var order = new List<string>();
        foreach (var node in set.Nodes)
            if (!set.IsInSync(node))
                order.Add(node);
        for (int i = set.Nodes.Length - 1; i >= 0; i--)
            if (set.IsInSync(set.Nodes[i]))
                order.Add(set.Nodes[i]);
        var removed = order.GetRange(0, set.Nodes.Length - (replicas - 1)).ToArray();
        if (replicas <= 1)
            return (null, removed);
        var nodes = new List<string>();
        var dataIds = new List<string>();
        var inSync = new List<string>();
        for (int i = 0; i < set.Nodes.Length; i++)
        {
            if (Array.IndexOf(removed, set.Nodes[i]) >= 0)
                continue;
            nodes.Add(set.Nodes[i]);
            dataIds.Add(set.DataIds[i]);
            if (set.IsInSync(set.Nodes[i]))
                inSync.Add(set.Nodes[i]);
        }
        return (set with { Epoch = set.Epoch + 1, Nodes = [.. nodes], DataIds = [.. dataIds], InSync = [.. inSync] }, removed);
    }

    /// <summary>
    /// The set with <paramref name="remove"/> out of sync and <paramref name="add"/> back in, at the next epoch; null
    /// when removing would leave the primary and the in-sync replicas fewer than a quorum.
    /// </summary>
    public static ReplicaSet? ChangeInSync(ReplicaSet set, string[] remove, string[] add)
    {
        var inSync = new List<string>();
        foreach (var node in set.Nodes)
            if (set.IsInSync(node) && Array.IndexOf(remove, node) < 0 || Array.IndexOf(add, node) >= 0)
                inSync.Add(node);
        if (remove.Length > 0 && inSync.Count + 1 < set.Quorum)
            return null;
        return set with { Epoch = set.Epoch + 1, InSync = [.. inSync] };
    }

    /// <summary>
    /// The set with <paramref name="replica"/>'s copy on the store <paramref name="dataId"/>, out of sync, at the next
    /// epoch. Even below a quorum: the old copy is gone whatever the catalog says, and counting it would only let a
    /// promotion rest on it.
    /// </summary>
    public static ReplicaSet Renew(ReplicaSet set, string replica, string dataId)
    {
        var dataIds = (string[])set.DataIds.Clone();
        dataIds[Array.IndexOf(set.Nodes, replica)] = dataId;
        var inSync = new List<string>(set.InSync);
        inSync.Remove(replica);
        return set with { Epoch = set.Epoch + 1, DataIds = dataIds, InSync = [.. inSync] };
    }

    /// <summary>
    /// The set unchanged at the next epoch: what a promotion that found no whole copy leaves, since the copies it
    /// fenced took that epoch and refuse the primary at any lower one.
    /// </summary>
    public static ReplicaSet KeepAfterFailedPromotion(ReplicaSet set) => set with { Epoch = set.Epoch + 1 };

    /// <summary>
    /// The entry with <paramref name="chosen"/>, an in-sync replica, as primary at the next epoch; the old primary
    /// becomes a replica out of sync (it may hold a tail nobody acknowledged), and of the others only those that took
    /// the new epoch on (<paramref name="fenced"/>) stay in sync.
    /// </summary>
    public static CatalogEntry Promote(CatalogEntry entry, string chosen, IReadOnlyCollection<string> fenced)
    {
        var set = entry.Replicas!;
        var nodes = new List<string>();
        var dataIds = new List<string>();
        var inSync = new List<string>();
        for (int i = 0; i < set.Nodes.Length; i++)
        {
            if (set.Nodes[i] == chosen)
                continue;
            nodes.Add(set.Nodes[i]);
            dataIds.Add(set.DataIds[i]);
            if (set.IsInSync(set.Nodes[i]) && fenced.Contains(set.Nodes[i]))
                inSync.Add(set.Nodes[i]);
        }
        nodes.Add(entry.HomeOf(0));
        dataIds.Add(entry.DataIdOf(0));
        return entry with
        {
            Homes = [chosen],
            DataIds = [set.DataIdOf(chosen)!],
            Replicas = new ReplicaSet(set.Epoch + 1, [.. nodes], [.. dataIds], [.. inSync]),
        };
    }
}
