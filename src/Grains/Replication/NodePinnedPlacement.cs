using Orleans.Placement;
using Orleans.Runtime.Placement;
using Platform.Grains.Cluster;

namespace Platform.Grains.Replication;

/// <summary>
/// A replica grain (keyed <see cref="ReplicaKey"/>) lives on the node its key names, whatever that node's address is
/// since it last started, because that node's disk holds the copy; while the node is not active it is refused.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("platform.NodePinnedPlacement")]
internal sealed class NodePinnedPlacement : PlacementStrategy
{
    internal static readonly NodePinnedPlacement Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class NodePinnedPlacementAttribute() : PlacementAttribute(NodePinnedPlacement.Instance);

internal sealed class NodePinnedPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var (stream, node) = ReplicaKey.Parse(target.GrainIdentity.Key.ToString()!);
        return Task.FromResult(membership.Find(node) ?? throw new StreamOfflineException(stream, $"its replica node {node} is not in the cluster"));
    }
}
