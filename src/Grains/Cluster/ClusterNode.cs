namespace Platform.Grains.Cluster;

/// <summary>
/// This silo as a node of the streaming cluster. A silo that is not clustered runs alone and is home to every stream;
/// a clustered one is known by its name (the Orleans silo name), which is what the catalog records as a home, and by
/// the identity of the data in its store, which the catalog records beside it.
/// </summary>
internal sealed class ClusterNode(string name, string dataId, bool clustered)
{
    public string Name { get; } = name;

    /// <summary>Made with the store: a node whose store was wiped or replaced comes back with another one.</summary>
    public string DataId { get; } = dataId;

    public bool Clustered { get; } = clustered;
}
