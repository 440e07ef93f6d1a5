using Orleans.Concurrency;

namespace Platform.Grains.Replication;

/// <summary>
/// One copy of a replicated stream on one node other than its primary's (<see cref="ReplicaKey"/>), with its own log
/// in that node's store. It remembers the highest epoch it has seen, on disk, and refuses anything older.
/// </summary>
[Alias("platform.IReplicaGrain")]
public interface IReplicaGrain : IGrainWithStringKey
{
    /// <summary>Makes the copy's log and metadata here, empty (stream create).</summary>
    [Alias("Create")] Task Create(long epoch);

    /// <summary>
    /// Appends a batch of the primary's, durably as the node's sync setting asks, before it answers. Interleaved: the
    /// primary sends several batches without waiting, Orleans may deliver them out of order (it round-robins calls
    /// over the two connections between a pair of silos), and a batch that comes before the one it follows waits for
    /// it instead of being refused.
    /// </summary>
    [Alias("Append"), AlwaysInterleave] Task<ReplicaAck> Append(ReplicaBatch batch);

    /// <summary>
    /// Applies a durable consumer's state to this copy's consumer store (written as the node's sync setting asks before
    /// it answers), so that a promoted copy serves the consumer from where the primary left it.
    /// </summary>
    [Alias("ApplyConsumer")] Task<ConsumerReplicaAck> ApplyConsumer(ConsumerReplicaBatch batch);

    /// <summary>Takes on <paramref name="epoch"/> if it is newer (refusing older batches from then on) and reports the log's end.</summary>
    [Alias("Fence")] Task<ReplicaAck> Fence(long epoch);

    /// <summary>
    /// Puts the log aside (renamed, never deleted: it may hold messages no other copy has, which were never
    /// acknowledged) and starts an empty one whose next sequence is <paramref name="nextSequence"/>: for a copy whose
    /// end differs from the primary's log.
    /// </summary>
    [Alias("Reset")] Task<ReplicaAck> Reset(long epoch, ulong nextSequence);

    /// <summary>Closes the log and lets the activation go: this node's copy is becoming the primary's log.</summary>
    [Alias("Release")] Task Release();

    /// <summary>Removes the copy (stream delete).</summary>
    [Alias("Delete")] Task Delete();
}
