using System.Buffers;
using System.Text;
using Platform.Grains.Streams;
using Platform.Gateway.Routing;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>
/// A stream as the capture router sees it: subscribed to the stream's subjects, it adds each matching publish to
/// the publisher's batch for this stream.
/// </summary>
internal sealed class StreamTarget(StreamConfig config, IGrainFactory grains) : IInternalSubscriber
{
    public StreamConfig Config { get; } = config;
    public string Name { get; } = config.Name;

    /// <summary>One grain per partition; an unpartitioned stream has just partition 0.</summary>
    public IStreamGrain[] Partitions { get; } = Enumerable.Range(0, StreamKeys.Count(config))
        .Select(p => grains.GetGrain<IStreamGrain>(StreamKeys.Partition(config.Name, p))).ToArray();

    public byte[] AckPrefix { get; } = Encoding.UTF8.GetBytes($"{{\"stream\":{ApiJson.Quote(config.Name)}, \"seq\":");

    /// <summary>What closes an ack: nats-server's "}" for a plain stream; partitioned streams also say which partition.</summary>
    public byte[][] AckSuffixes { get; } = Enumerable.Range(0, StreamKeys.Count(config))
        .Select(p => Encoding.UTF8.GetBytes(config.Partitions > 1 ? $",\"partition\":{p}}}" : "}")).ToArray();

    public List<Subscription> Subscriptions { get; } = [];

    public void OnMessage(Subscription subscription, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength,
        in ReadOnlySequence<byte> message, NatsClient? publisher)
    {
        var batcher = publisher!.Batcher ??= new PublishBatcher();
        // no_ack: stored, never answered (such a stream may capture requests that others answer).
        batcher.Add(this, StreamKeys.PartitionOf(subject, Partitions.Length), subject, Config.NoAck ? default : reply, headerLength, message);
    }
}
