using System.Collections.Concurrent;

namespace Platform.Grains.Replication;

/// <summary>
/// The streams whose replica grain is active on this silo: a stream grain that becomes primary here asks its replica
/// to release the log they share only when one runs, instead of activating one just to have it refuse.
/// </summary>
internal sealed class LocalReplicas
{
    private readonly ConcurrentDictionary<string, byte> _streams = new(StringComparer.Ordinal);

    public void Add(string stream) => _streams[stream] = 0;

    public void Remove(string stream) => _streams.TryRemove(stream, out _);

    public bool Contains(string stream) => _streams.ContainsKey(stream);
}
