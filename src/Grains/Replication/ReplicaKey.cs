namespace Platform.Grains.Replication;

/// <summary>
/// The key of a stream's replica grain on one node, "stream.node": stream names hold no '.', so the first one splits
/// it, and node names may hold any.
/// </summary>
internal static class ReplicaKey
{
    public static string Of(string stream, string node) => $"{stream}.{node}";

    public static (string Stream, string Node) Parse(string key)
    {
        int dot = key.IndexOf('.');
        return (key[..dot], key[(dot + 1)..]);
    }
}
