using Orleans.Concurrency;
using Platform.Grains.Cluster;
using Platform.Grains.Replication;

namespace Platform.Grains.Streams;

/// <summary>
/// The streams of this cluster by name, and the guard that no two streams capture the same subject.
/// One activation (key 0) serialises creates, updates and deletes.
/// </summary>
[Alias("platform.IStreamCatalogGrain")]
public interface IStreamCatalogGrain : IGrainWithIntegerKey
{
    [Alias("Create")] Task<StreamResult<PlatformStreamInfo>> Create(PlatformStreamConfig config);
    [Alias("Update")] Task<StreamResult<PlatformStreamInfo>> Update(PlatformStreamConfig config);
    [Alias("Delete")] Task<bool> Delete(string name);
    [Alias("List")] Task<PlatformStreamConfig[]> List();

    /// <summary>
    /// Gives a partition whose home is gone for good (offline, or back with a wiped store) a new home on
    /// <paramref name="toNode"/>, where it starts empty: what the old home held is given up, so this is never done
    /// for the operator. Refused while the partition is online.
    /// </summary>
    [Alias("MoveHome")] Task<StreamResult<CatalogEntry>> MoveHome(string stream, int partition, string toNode);

    /// <summary>
    /// Moves the partitions of <paramref name="stream"/> at home on <paramref name="fromNode"/> (every partition when
    /// null) to <paramref name="toNode"/> (when null, the active node with the fewest partitions other than the old
    /// home), with their data: each partition's log closes at its old home, its files (and, with partition 0, the
    /// consumers' state) are copied to the new home, the catalog switches home and data id with a conditional write,
    /// and only then is the old copy removed. Publishes meanwhile get an error ack. Refused while an old home is
    /// offline (nats-server's 10118): its data cannot be copied.
    /// </summary>
    [Alias("Move")] Task<StreamResult<CatalogEntry>> Move(string stream, string? fromNode, string? toNode);

    /// <summary>
    /// For a replicated stream's primary at <paramref name="epoch"/>: takes replicas out of the in-sync set, or back
    /// in, at the next epoch. Null when the epoch is not current (the caller was replaced) or when removing would leave
    /// fewer than a quorum in sync.
    /// </summary>
    [Alias("ChangeInSync")] Task<ReplicaSet?> ChangeInSync(string stream, long epoch, string[] remove, string[] add);

    /// <summary>
    /// For a replicated stream's primary at <paramref name="epoch"/>: records <paramref name="replica"/>'s node's
    /// current store as that copy's (its disk was wiped), out of sync, at the next epoch. Null when the epoch is not
    /// current or the node is not up.
    /// </summary>
    [Alias("RenewReplica")] Task<ReplicaSet?> RenewReplica(string stream, long epoch, string replica);

    /// <summary>
    /// A node was declared dead: each replicated stream whose primary it was gets an in-sync replica as its primary,
    /// at the next epoch, once every reachable in-sync replica has taken that epoch on. False when a stream is left
    /// without one (no whole in-sync copy answered): the caller asks again when another node comes up. True when the
    /// node is back.
    /// </summary>
    [Alias("NodeDown")] Task<bool> NodeDown(string node);

    /// <summary>
    /// For a replicated stream's primary on <paramref name="node"/> at <paramref name="epoch"/> that found its own log
    /// damaged: promotes a whole in-sync replica as <see cref="NodeDown"/> would. False when the epoch or primary is
    /// not current, or no whole in-sync copy answered (the stream then stays offline, as with its primary down).
    /// </summary>
    [Alias("StepDown")] Task<bool> StepDown(string stream, long epoch, string node);

    /// <summary>One stream and its homes, or null. Interleaves: placement asks for it while a create waits on it.</summary>
    [Alias("Get"), AlwaysInterleave] Task<CatalogEntry?> Get(string name);

    /// <summary>The whole catalog if its version is above <paramref name="newerThan"/>, for a silo that joins or missed a change.</summary>
    [Alias("Snapshot"), AlwaysInterleave] Task<CatalogSnapshot?> Snapshot(long newerThan);
}
