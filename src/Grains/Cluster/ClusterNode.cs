namespace Platform.Grains.Cluster;

/// <summary>
/// This silo as a node of the streaming cluster. A silo that is not clustered runs alone and is home to every stream;
/// a clustered one is known by its name (the Orleans silo name), which is what the catalog records as a home.
/// </summary>
internal sealed class ClusterNode(string name, bool clustered)
{
    public string Name { get; } = name;

    public bool Clustered { get; } = clustered;
}
