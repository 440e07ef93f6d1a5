using Orleans.Placement;

namespace Platform.Grains.Cluster;

/// <summary>
/// Stream and consumer grains activate only on the node that holds their stream partition's data (its home, chosen by
/// the catalog when the stream is created), never anywhere else: an activation elsewhere would create an empty log and
/// acknowledge publishes the home never sees.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("platform.StreamHomePlacement")]
internal sealed class StreamHomePlacement : PlacementStrategy
{
    internal static readonly StreamHomePlacement Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class StreamHomePlacementAttribute() : PlacementAttribute(StreamHomePlacement.Instance);
