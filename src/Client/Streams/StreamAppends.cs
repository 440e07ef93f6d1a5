using Orleans.Concurrency;

namespace Platform.Grains.Streams;

internal static class StreamAppends
{
    /// <summary>
    /// Appends a batch by <see cref="IStreamGrain.AppendPipelined"/> when <paramref name="pipelined"/> (a replicated
    /// stream, whose next batch goes in while this one's replicas answer, or a caller whose batches may arrive out of
    /// order), else by <see cref="IStreamGrain.Append"/>. A stale choice costs speed, never an ack: both calls wait for
    /// the replicas.
    /// </summary>
    public static Task<Immutable<PublishAck[]>> AppendAsync(this IStreamGrain grain, Immutable<byte[]> frames, int length, int count, bool pipelined,
        BatchOrder order)
        => pipelined ? grain.AppendPipelined(frames, length, count, order) : grain.Append(frames, length, count);
}
