namespace Platform.Grains.Replication;

/// <summary>
/// Messages the primary stored, for a replica to append as they are: the publish batch's frames
/// (<see cref="Streams.PublishFrames"/>, shared, not copied) with the sequence and timestamp the primary gave each one
/// (sequence 0: not stored, a duplicate or a refused message, skipped). The replica appends them only on a log that
/// ends at <see cref="PreviousLast"/>, as the primary's did, so both logs stay the same message for message.
/// </summary>
/// <param name="PrimaryFirst">The primary's first sequence: a replica that has to skip to a higher sequence drops
/// what lies below only when the primary holds nothing there either.</param>
/// <param name="Last">The primary's last sequence with the batch: the replica's log ends there too (what the primary
/// deleted at its end, a replica being caught up skips).</param>
/// <param name="Removed">Messages up to <see cref="Last"/> the primary removed one by one since the last batch (or, to
/// a replica whose log it has just checked, all it has removed so far), which the replica removes too; removals below
/// the primary's first sequence go by <see cref="PrimaryFirst"/>. A batch of no messages carries only removals.</param>
[GenerateSerializer, Immutable, Alias("platform.ReplicaBatch")]
public sealed record ReplicaBatch(
    [property: Id(0)] long Epoch,
    [property: Id(1)] ulong PreviousLast,
    [property: Id(2)] ulong PrimaryFirst,
    [property: Id(3)] ulong Last,
    [property: Id(4)] byte[] Frames,
    [property: Id(5)] int Length,
    [property: Id(6)] int Count,
    [property: Id(7)] ulong[] Sequences,
    [property: Id(8)] long[] Timestamps,
    [property: Id(110)] ulong[]? Removed = null);

/// <summary>
/// A replica's answer: whether it took the batch (or the epoch), the epoch it is at and the last sequence and its
/// timestamp in its log, from which the primary tells a replica that is behind (it catches it up) from one that holds
/// messages the primary does not have (reset to the primary's log).
/// </summary>
/// <param name="Damaged">Its log could not be opened or holds a message that fails its checksum: it takes nothing
/// until the primary resets it.</param>
/// <param name="Held">The highest sequence it ever took in (its held mark): a log that ends below it was cut.</param>
/// <param name="NewCopy">Its node's store is not the one the catalog made the copy on (a wiped disk): it holds
/// nothing of the stream until the catalog records it and the primary resets it.</param>
[GenerateSerializer, Immutable, Alias("platform.ReplicaAck")]
public readonly record struct ReplicaAck(
    [property: Id(0)] bool Accepted,
    [property: Id(1)] long Epoch,
    [property: Id(2)] ulong LastSequence,
    [property: Id(3)] long LastTimestampNanos,
    [property: Id(4)] bool Damaged = false,
    [property: Id(5)] ulong Held = 0,
    [property: Id(6)] bool NewCopy = false)
{
    /// <summary>Whether it holds every message it ever took in, undamaged: only such a copy may be promoted.</summary>
    public bool Whole => !Damaged && !NewCopy && LastSequence >= Held;
}
