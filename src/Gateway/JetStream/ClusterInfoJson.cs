using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Platform.Grains.Replication;

namespace Platform.Gateway.JetStream;

/// <summary>
/// The "cluster" object of stream and consumer info in a cluster, as nats-server writes it: the cluster's name, the
/// node that serves (the stream's home) and, for a replicated stream, each replica with its peer id (active is
/// nanoseconds since it was last heard from, lag left out when 0).
/// </summary>
internal static class ClusterInfoJson
{
    public static void Write(Utf8JsonWriter w, string? clusterName, string leader, ReplicaPeer[]? replicas)
    {
        w.WriteStartObject("cluster");
        w.WriteString("name", clusterName);
        w.WriteString("leader", leader);
        if (replicas is not null)
        {
            w.WriteStartArray("replicas");
            foreach (var peer in replicas)
            {
                w.WriteStartObject();
                w.WriteString("name", peer.Name);
                w.WriteBoolean("current", peer.Current);
                w.WriteNumber("active", peer.Active.Ticks * 100);
                if (peer.Lag > 0)
                    w.WriteNumber("lag", peer.Lag);
                w.WriteString("peer", PeerId(peer.Name));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// A node's peer id: 8 characters derived from its name, the same on every silo and across restarts, in the shape
    /// of nats-server's (which hashes the server name too).
    /// </summary>
    internal static string PeerId(string node)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(node), hash);
        return Convert.ToBase64String(hash)[..8].Replace('+', 'A').Replace('/', 'B');
    }
}
