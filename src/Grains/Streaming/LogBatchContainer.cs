using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Streams;

namespace Platform.Grains.Streaming;

/// <summary>One platform message as an Orleans batch of one event; its token is its stream sequence.</summary>
[GenerateSerializer, Immutable, Alias("platform.LogBatchContainer")]
public sealed class LogBatchContainer : IBatchContainer
{
    [Id(0)] public StreamId StreamId { get; init; }
    [Id(1)] public ulong Sequence { get; init; }
    /// <summary>The <see cref="EventCodec.TypeHeader"/> value, null for messages published without it.</summary>
    [Id(2)] public string? TypeName { get; init; }
    [Id(3)] public byte[] Payload { get; init; } = [];

    public StreamSequenceToken SequenceToken => new EventSequenceTokenV2((long)Sequence);

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>()
    {
        if (EventCodec.TryDeserialize<T>(TypeName, Payload, out var value))
            yield return Tuple.Create(value!, SequenceToken);
    }

    // Request context is not carried: it has no place in a NATS message that other clients would understand.
    public bool ImportRequestContext() => false;
}
