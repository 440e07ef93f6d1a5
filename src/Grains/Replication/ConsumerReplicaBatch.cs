namespace Platform.Grains.Replication;

/// <summary>
/// A durable consumer's state for a replica of its stream: the consumer's files as the primary writes them, so the
/// replica's copy is the primary's byte for byte and a promoted replica's consumer grain restores from it as it would
/// after a restart. <see cref="Snapshot"/> (the state file of <see cref="Generation"/>) starts the copy over; without
/// one, <see cref="Records"/> (journal records) continue a copy that holds <see cref="Offset"/> bytes of the
/// generation's records.
/// </summary>
/// <param name="Deleted">The consumer was deleted: the replica removes its copy.</param>
[GenerateSerializer, Immutable, Alias("platform.ConsumerReplicaBatch")]
public sealed record ConsumerReplicaBatch(
    [property: Id(0)] long Epoch,
    [property: Id(1)] string Consumer,
    [property: Id(2)] ulong Generation,
    [property: Id(3)] byte[]? Snapshot,
    [property: Id(4)] long Offset,
    [property: Id(5)] byte[] Records,
    [property: Id(6)] bool Deleted);

/// <summary>
/// A replica's answer to a <see cref="ConsumerReplicaBatch"/>: refused for an older epoch than the replica's
/// (<see cref="Epoch"/> tells) or for records that do not continue its copy (it needs the snapshot again).
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.ConsumerReplicaAck")]
public readonly record struct ConsumerReplicaAck([property: Id(0)] bool Accepted, [property: Id(1)] long Epoch);
