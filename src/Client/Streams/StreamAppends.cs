using Orleans.Concurrency;

namespace Platform.Grains.Streams;

internal static class StreamAppends
{
    /// <summary>
    /// Appends a batch the way its stream wants it: a replicated stream by <see cref="IStreamGrain.AppendReplicated"/>,
    /// which lets the next batch in while this one's replicas answer. A stale <paramref name="replicated"/> costs speed,
    /// never an ack: both calls wait for the replicas.
    /// </summary>
    public static Task<Immutable<PublishAck[]>> AppendAsync(this IStreamGrain grain, Immutable<byte[]> frames, int length, int count, bool replicated)
        => replicated ? grain.AppendReplicated(frames, length, count) : grain.Append(frames, length, count);
}
