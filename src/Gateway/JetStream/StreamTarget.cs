using System.Buffers;
using System.Text;
using Platform.Grains.Streams;
using Platform.Grains.Subjects;
using Platform.Gateway.Routing;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>
/// A stream as the capture router sees it: subscribed to the stream's subjects, it adds each matching publish to
/// the publisher's batch for this stream.
/// </summary>
internal sealed class StreamTarget(PlatformStreamConfig config, IGrainFactory grains, StreamHomes homes) : IInternalSubscriber
{
    public PlatformStreamConfig Config { get; } = config;
    public string Name { get; } = config.Name;

    /// <summary>One grain per partition; an unpartitioned stream has just partition 0.</summary>
    public IStreamGrain[] Partitions { get; } = Enumerable.Range(0, StreamKeys.Count(config))
        .Select(p => grains.GetGrain<IStreamGrain>(StreamKeys.Partition(config.Name, p))).ToArray();

    /// <summary>
    /// Whether a batch for <paramref name="partition"/> goes by <see cref="IStreamGrain.AppendPipelined"/>: always for a
    /// replicated stream; for a stream of one copy when its home is another silo, since calls between silos may
    /// overtake each other and only that method puts them back in order. A home here takes the plain, cheaper append.
    /// </summary>
    public bool Pipelined(int partition) => Config.NumReplicas > 1 || !homes.IsHere(Name, partition);

    public byte[] AckPrefix { get; } = Encoding.UTF8.GetBytes($"{{\"stream\":{ApiJson.Quote(config.Name)}, \"seq\":");

    /// <summary>What closes an ack: nats-server's "}" for a plain stream; partitioned streams also say which partition.</summary>
    public byte[][] AckSuffixes { get; } = Enumerable.Range(0, StreamKeys.Count(config))
        .Select(p => Encoding.UTF8.GetBytes(config.Partitions > 1 ? $",\"partition\":{p}}}" : "}")).ToArray();

    public List<Subscription> Subscriptions { get; } = [];

    /// <summary>The stream's subject_transform: the subject a captured message is stored (and partitioned) under.</summary>
    private readonly SubjectTransform? _transform = config.SubjectTransform is { Destination.Length: > 0 } t
        ? SubjectTransform.Create(t.Source, t.Destination, out _)
        : null;

    public void OnMessage(Subscription subscription, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength,
        in ReadOnlySequence<byte> message, NatsClient? publisher)
        => Add(publisher!.Batcher ??= new PublishBatcher(), subject, reply, headerLength, message);

    /// <summary>Adds a publish this stream captures to <paramref name="batcher"/>, under the subject it is stored as.</summary>
    public void Add(PublishBatcher batcher, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength, in ReadOnlySequence<byte> message)
    {
        // no_ack: stored, never answered (such a stream may capture requests that others answer).
        if (Config.NoAck)
            reply = default;
        if (_transform is null || !_transform.Matches(subject))
        {
            batcher.Add(this, StreamKeys.PartitionOf(subject, Partitions.Length), subject, reply, headerLength, message);
            return;
        }
        // The batch copies the subject into its frame at once, so the transformed subject lives on the stack.
        const int onStack = 512;
        int room = _transform.MaxLength(subject.Length);
        byte[]? rented = room > onStack ? ArrayPool<byte>.Shared.Rent(room) : null;
        Span<byte> buffer = rented ?? stackalloc byte[onStack];
        _transform.TryTransform(subject, buffer, out int length);
        var stored = buffer[..length];
        batcher.Add(this, StreamKeys.PartitionOf(stored, Partitions.Length), stored, reply, headerLength, message);
        if (rented is not null)
            ArrayPool<byte>.Shared.Return(rented);
    }
}
