namespace Platform.Grains.Cluster;

/// <summary>The active silos of the cluster by node name (the silo name), as placement and the catalog see them.</summary>
internal static class ActiveNodes
{
    /// <summary>Every active silo by node name, in name order.</summary>
    public static SortedDictionary<string, SiloAddress> ByName(this IClusterMembershipService membership)
    {
        var silos = new SortedDictionary<string, SiloAddress>(StringComparer.Ordinal);
        foreach (var (address, member) in membership.CurrentSnapshot.Members)
            if (member.Status == SiloStatus.Active)
                silos[member.Name] = address;
        return silos;
    }

    /// <summary>The active silo named <paramref name="node"/>, or null when it is not in the cluster now.</summary>
    public static SiloAddress? Find(this IClusterMembershipService membership, string node)
    {
        foreach (var (address, member) in membership.CurrentSnapshot.Members)
            if (member.Status == SiloStatus.Active && member.Name == node)
                return address;
        return null;
    }
}
