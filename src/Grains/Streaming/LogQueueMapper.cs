using Orleans.Runtime;
using Orleans.Streams;
using Platform.Grains.Streams;

namespace Platform.Grains.Streaming;

/// <summary>One queue per configured namespace (platform stream), so a queue is read in that stream's sequence order.</summary>
/// <remarks>The default queue balancer (consistent ring) asks for the queues in a ring range; a queue's place on the
/// ring is a stable hash of its namespace, identical in every silo process.</remarks>
internal sealed class LogQueueMapper : IConsistentRingStreamQueueMapper
{
    private readonly Dictionary<string, QueueId> _queues = new(StringComparer.Ordinal);
    private readonly Dictionary<QueueId, string> _namespaces = [];

    public LogQueueMapper(string providerName, IReadOnlyList<string> namespaces)
    {
        for (int i = 0; i < namespaces.Count; i++)
        {
            var ns = namespaces[i];
            if (NameRules.CheckStream(ns) is { } invalid)
                throw new ArgumentException($"Orleans stream namespace \"{ns}\" is not a valid platform stream name: {invalid.Description}.");
            var queue = QueueId.GetQueueId(providerName, (uint)i, StableHash(ns));
            _queues.Add(ns, queue);
            _namespaces.Add(queue, ns);
        }
    }

    public IEnumerable<QueueId> GetAllQueues() => _namespaces.Keys;

    public IEnumerable<QueueId> GetQueuesForRange(IRingRange range) =>
        _namespaces.Keys.Where(q => range.InRange(q.GetUniformHashCode()));

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
        return _queues.TryGetValue(ns, out var queue)
            ? queue
            : throw new ArgumentException($"Orleans stream namespace \"{ns}\" is not configured for this platform stream provider.");
    }

    public string NamespaceOf(QueueId queue) => _namespaces[queue];

    public static string SubjectOf(StreamId streamId) => $"{streamId.GetNamespace()}.{streamId.GetKeyAsString()}";

    /// <summary>The Orleans stream of a subject <c>&lt;namespace&gt;.&lt;key&gt;</c> in stream <paramref name="ns"/>.</summary>
    public static StreamId StreamOf(string ns, string subject) =>
        StreamId.Create(ns, subject.Length > ns.Length + 1 ? subject[(ns.Length + 1)..] : "");
}
