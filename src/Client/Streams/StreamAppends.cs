using Orleans.Concurrency;

namespace Platform.Grains.Streams;

internal static class StreamAppends
{
    /// <summary>
    /// Appends a batch the way the .NET client does: a replicated stream by <see cref="IStreamGrain.AppendPipelined"/>,
    /// whose next batch goes in while this one's replicas answer (each call awaits its batch, so there is no order to
    /// restore), else by <see cref="IStreamGrain.Append"/>. A stale <paramref name="replicated"/> costs speed, never an
    /// ack: both calls wait for the replicas.
    /// </summary>
    public static Task<Immutable<PublishAck[]>> AppendAsync(this IStreamGrain grain, Immutable<byte[]> frames, int length, int count, bool replicated)
        => replicated ? grain.AppendPipelined(frames, length, count, BatchOrder.None) : grain.Append(frames, length, count);
}
