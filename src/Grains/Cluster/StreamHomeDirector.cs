using Orleans.Runtime.Placement;
using Platform.Grains.Node;
using Platform.Grains.Streams;

namespace Platform.Grains.Cluster;

/// <summary>
/// Places stream partition grains (keyed "stream" or "stream.p") and consumer grains ("stream/consumer", with the
/// stream's partition 0) on their home node, or refuses with <see cref="StreamOfflineException"/> when that node is not
/// active. The home comes from the catalog's call itself (a request-context hint, for the create that picks it), else
/// from this silo's <see cref="CatalogView"/>, else from the catalog grain. A silo that is not clustered is home to
/// every stream.
/// </summary>
internal sealed class StreamHomeDirector(CatalogView view, NodeIdentity node, IClusterMembershipService membership) : IPlacementDirector
{
    public async Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        if (!node.IsCluster)
            return context.LocalSilo;
        var (stream, partition) = PartitionOf(target.GrainIdentity.Key.ToString()!);
        var entry = await view.FindAsync(stream, target.RequestContextData?.GetValueOrDefault(CatalogView.EntryHint));
        // A stream the catalog does not know has no data anywhere: its grain only answers "not found", so it may
        // activate where it is asked for.
        if (entry is null)
            return context.LocalSilo;
        var home = entry.HomeOf(partition);
        return membership.Find(home) ?? throw new StreamOfflineException(stream, $"its home node {home} is not in the cluster");
    }

    private static (string Stream, int Partition) PartitionOf(string key)
    {
        int slash = key.IndexOf('/');
        return slash >= 0 ? (key[..slash], 0) : StreamKeys.Parse(key);
    }
}
