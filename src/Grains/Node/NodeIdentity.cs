namespace Platform.Grains.Node;

/// <summary>
/// Who this silo is, the one place that knows it: the node name (<c>-n</c>), the data id of the store it opened, and
/// the cluster it belongs to (null when it runs alone). Registered as a singleton on every silo the executable starts,
/// so grains (stream homes) and gateway parts (routes, INFO) read it from DI.
/// </summary>
public sealed class NodeIdentity(string name, string dataId, string storeDirectory, string? clusterName)
{
    /// <summary>The node name; unique within a cluster. Empty for a single silo started without <c>-n</c>.</summary>
    public string Name { get; } = name;

    /// <summary>
    /// Random id created with the store. A store that was wiped (or replaced) gets a new one, so whoever remembers
    /// which data lives where (the stream catalog) can tell "this node's data" from "this node, empty".
    /// </summary>
    public string DataId { get; } = dataId;

    /// <summary>The store directory, as an absolute path.</summary>
    public string StoreDirectory { get; } = storeDirectory;

    /// <summary>The Orleans cluster (and NATS cluster) name; null when the silo runs alone.</summary>
    public string? ClusterName { get; } = clusterName;

    public bool IsCluster => ClusterName is not null;

    public override string ToString() => $"node \"{Name}\" data {DataId}" + (IsCluster ? $" in cluster \"{ClusterName}\"" : "");
}
