using Orleans.Runtime;
using Orleans.Streams;
using Platform.Grains.Streams;

namespace Platform.Grains.Streaming;

/// <summary>
/// One queue per partition of each configured namespace (platform stream), so a queue is read in that partition's
/// sequence order. An Orleans stream is one subject, and a subject lives in one partition, so each Orleans stream's
/// events stay in order and its tokens ascend.
/// </summary>
/// <remarks>The default queue balancer (consistent ring) asks for the queues in a ring range; a queue's place on the
/// ring is a stable hash of its partition's grain key, identical in every silo process.</remarks>
internal sealed class LogQueueMapper : IConsistentRingStreamQueueMapper
{
    private readonly Dictionary<string, QueueId[]> _queues = new(StringComparer.Ordinal);
    private readonly Dictionary<QueueId, QueuePartition> _partitions = [];

    public LogQueueMapper(string providerName, IReadOnlyList<string> namespaces, int partitions)
    {
        uint index = 0;
        foreach (var ns in namespaces)
        {
            var queues = new QueueId[partitions];
            for (int p = 0; p < partitions; p++)
            {
                var key = StreamKeys.Partition(ns, p);
                queues[p] = QueueId.GetQueueId(providerName, index++, StableHash(key));
                _partitions.Add(queues[p], new QueuePartition(ns, p, key));
            }
            _queues.Add(ns, queues);
        }
    }

    public IEnumerable<QueueId> GetAllQueues() => _partitions.Keys;

    public IEnumerable<QueueId> GetQueuesForRange(IRingRange range) =>
        _partitions.Keys.Where(q => range.InRange(q.GetUniformHashCode()));

    /// <summary>FNV-1a over the UTF-8 name (string.GetHashCode is randomized per process).</summary>
    private static uint StableHash(string text)
    {
        uint hash = 2166136261;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(text))
            hash = (hash ^ b) * 16777619;
        return hash;
    }

    public QueueId GetQueueForStream(StreamId streamId)
    {
        var ns = streamId.GetNamespace() ?? "";
        if (!_queues.TryGetValue(ns, out var queues))
            throw new ArgumentException($"Orleans stream namespace \"{ns}\" is not configured for this platform stream provider.");
        return queues[StreamKeys.PartitionOf(SubjectOf(streamId), queues.Length)];
    }

    public QueuePartition PartitionOf(QueueId queue) => _partitions[queue];

    public static string SubjectOf(StreamId streamId) => $"{streamId.GetNamespace()}.{streamId.GetKeyAsString()}";

    /// <summary>The Orleans stream of a subject <c>&lt;namespace&gt;.&lt;key&gt;</c> in stream <paramref name="ns"/>.</summary>
    public static StreamId StreamOf(string ns, string subject) =>
        StreamId.Create(ns, subject.Length > ns.Length + 1 ? subject[(ns.Length + 1)..] : "");
}

/// <summary>What one queue reads: partition <see cref="Partition"/> of the platform stream <see cref="Namespace"/>, the stream grain <see cref="Key"/>.</summary>
internal readonly record struct QueuePartition(string Namespace, int Partition, string Key);
