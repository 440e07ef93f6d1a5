using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Platform.Grains.Streams;

namespace Platform.Grains.Client;

/// <summary>
/// How each stream is laid out, learnt once per cluster client. Partitions cannot change while a stream exists, so only
/// a delete and re-create makes an entry stale (the grains then refuse, and the caller forgets the entry). Replicas
/// can change; a stale answer there costs speed, never an ack: both ways of appending wait for the replicas.
/// </summary>
internal static class StreamLayouts
{
    private static readonly ConditionalWeakTable<IGrainFactory, ConcurrentDictionary<string, StreamLayout>> Known = new();

    public static async ValueTask<StreamLayout> GetAsync(IGrainFactory grains, string stream)
    {
        var known = Known.GetOrCreateValue(grains);
        if (known.TryGetValue(stream, out var layout))
            return layout;
        var info = await grains.GetGrain<IStreamGrain>(stream).GetInfo(false, null);
        // An unknown stream is left to the append to report; nothing is remembered for it.
        if (info.Value is not { } value)
            return new StreamLayout(1, false);
        layout = new StreamLayout(StreamKeys.Count(value.Config), value.Config.NumReplicas > 1);
        known[stream] = layout;
        return layout;
    }

    public static void Forget(IGrainFactory grains, string stream)
    {
        if (Known.TryGetValue(grains, out var known))
            known.TryRemove(stream, out _);
    }
}

/// <param name="Replicated">Appends go by <see cref="IStreamGrain.AppendPipelined"/>, as the gateway sends them.</param>
internal readonly record struct StreamLayout(int Partitions, bool Replicated);
