using Orleans.Metadata;

namespace Platform.Grains.Cluster;

/// <summary>The active silos of the cluster by node name (the silo name), as placement and the catalog see them.</summary>
internal static class ActiveNodes
{
    /// <summary>
    /// Every active silo that hosts the platform, by node name, in name order. A silo whose manifest lacks
    /// <paramref name="platformGrain"/> (a user's own silo that joined with the client package only) can hold no stream
    /// and has no catalog view; a silo whose manifest has not arrived yet counts, as every member did before.
    /// </summary>
    public static SortedDictionary<string, SiloAddress> ByName(this IClusterMembershipService membership, ClusterManifest manifest, GrainType platformGrain)
    {
        var silos = new SortedDictionary<string, SiloAddress>(StringComparer.Ordinal);
        foreach (var (address, member) in membership.CurrentSnapshot.Members)
            if (member.Status == SiloStatus.Active && (!manifest.Silos.TryGetValue(address, out var grains) || grains.Grains.ContainsKey(platformGrain))
                && (!silos.TryGetValue(member.Name, out var other) || other.Generation < address.Generation))
                silos[member.Name] = address;
        return silos;
    }

    /// <summary>
    /// The active silo named <paramref name="node"/>, or null when it is not in the cluster now. A node restarted
    /// before its killed instance was declared dead is active twice for a while: the newest instance is the node.
    /// </summary>
    public static SiloAddress? Find(this IClusterMembershipService membership, string node)
    {
        SiloAddress? found = null;
        foreach (var (address, member) in membership.CurrentSnapshot.Members)
            if (member.Status == SiloStatus.Active && member.Name == node && (found is null || found.Generation < address.Generation))
                found = address;
        return found;
    }
}
