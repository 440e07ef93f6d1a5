using Platform.Grains.Cluster;
using Platform.Grains.Node;

namespace Platform.Gateway.JetStream;

/// <summary>Whether a stream partition's home is this silo, as this silo's copy of the catalog says.</summary>
internal sealed class StreamHomes(CatalogView catalog, NodeIdentity node)
{
    /// <summary>Always on a single silo; in a cluster, false for a stream the view does not know yet.</summary>
    public bool IsHere(string stream, int partition)
        => !node.IsCluster || catalog.TryGet(stream, out var entry) && entry.HomeOf(partition) == node.Name;
}
