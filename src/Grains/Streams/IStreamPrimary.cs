using Orleans.Concurrency;

namespace Platform.Grains.Streams;

/// <summary>
/// The turn of a pipelined append that must not interleave with anything else the stream does: storing the
/// batch and sending it on to the replicas. <see cref="IStreamGrain.AppendPipelined"/> calls it and then waits for
/// the replicas outside the turn, so the next batch is stored while this one is on its way.
/// </summary>
[Alias("platform.IStreamPrimary")]
internal interface IStreamPrimary : IGrainWithStringKey
{
    /// <summary>Stores a batch framed by <see cref="PublishFrames"/>; its acks hold once <see cref="StoredBatch.Pending"/> is committed.</summary>
    [Alias("Store")] Task<StoredBatch> Store(Immutable<byte[]> frames, int length, int count);
}

/// <summary>
/// What <see cref="IStreamPrimary.Store"/> did with a batch: one ack per message, in order, which hold only once
/// every sequence up to <paramref name="Pending"/> is on the replicas (0: nothing to wait for, the acks are final).
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.StoredBatch")]
internal sealed record StoredBatch([property: Id(0)] PublishAck[] Acks, [property: Id(1)] ulong Pending);
