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
internal sealed class StreamTarget(StreamConfig config, IStreamGrain grain) : IInternalSubscriber
{
    public StreamConfig Config { get; } = config;
    public string Name { get; } = config.Name;
    public IStreamGrain Grain { get; } = grain;
    public byte[] AckPrefix { get; } = Encoding.UTF8.GetBytes($"{{\"stream\":{ApiJson.Quote(config.Name)}, \"seq\":");
    public List<Subscription> Subscriptions { get; } = [];

    public void OnMessage(Subscription subscription, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength,
        in ReadOnlySequence<byte> message, NatsClient? publisher)
    {
        var batcher = publisher!.Batcher ??= new PublishBatcher();
        batcher.Add(this, subject, reply, headerLength, message);
    }
}
