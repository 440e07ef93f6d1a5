using Platform.Grains.Replication;
using Platform.Grains.Streams;

namespace Platform.Grains.Cluster;

/// <summary>
/// A stream as the catalog knows it: its configuration, the node that is home to each of its partitions, and the
/// identity of the data each home held when the partition was made there; for a replicated stream, its other copies
/// (the home of partition 0 is the primary).
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.CatalogEntry")]
public sealed record CatalogEntry(
    [property: Id(0)] PlatformStreamConfig Config,
    [property: Id(1)] string[] Homes,
    [property: Id(2)] string[] DataIds,
    [property: Id(60)] ReplicaSet? Replicas = null)
{
    public string HomeOf(int partition) => Homes[Math.Min(partition, Homes.Length - 1)];

    public string DataIdOf(int partition) => DataIds[Math.Min(partition, DataIds.Length - 1)];
}

/// <summary>
/// The whole catalog at one version: what a silo loads when it joins or finds that it missed a change. Leader is the
/// node the catalog runs on, nats-server's meta leader.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.CatalogSnapshot")]
public sealed record CatalogSnapshot([property: Id(0)] long Version, [property: Id(1)] CatalogEntry[] Streams, [property: Id(2)] string Leader);

/// <summary>What the catalog grain of a cluster stores.</summary>
[GenerateSerializer, Alias("platform.CatalogState")]
internal sealed class CatalogState
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public CatalogEntry[] Streams { get; set; } = [];
}
