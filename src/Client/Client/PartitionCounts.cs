using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Platform.Grains.Streams;

namespace Platform.Grains.Client;

/// <summary>
/// How many partitions each stream has, learnt once per cluster client: partitions cannot change while a stream exists,
/// so only a delete and re-create makes an entry stale (the grains then refuse, and the caller forgets the entry).
/// </summary>
internal static class PartitionCounts
{
    private static readonly ConditionalWeakTable<IGrainFactory, ConcurrentDictionary<string, int>> Known = new();

    public static async ValueTask<int> GetAsync(IGrainFactory grains, string stream)
    {
        var known = Known.GetOrCreateValue(grains);
        if (known.TryGetValue(stream, out int count))
            return count;
        var info = await grains.GetGrain<IStreamGrain>(stream).GetInfo(false, null);
        // An unknown stream is left to the append to report; nothing is remembered for it.
        if (info.Value is not { } value)
            return 1;
        count = StreamKeys.Count(value.Config);
        known[stream] = count;
        return count;
    }

    public static void Forget(IGrainFactory grains, string stream)
    {
        if (Known.TryGetValue(grains, out var known))
            known.TryRemove(stream, out _);
    }
}
