using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;

namespace Platform.Grains.Streaming;

/// <summary>One platform message as an Orleans batch of one event; its token is its stream sequence.</summary>
/// <remarks>OnDeserializedCallbacks makes the generated codec call <see cref="IOnDeserialized"/>, which it otherwise does not.</remarks>
[GenerateSerializer, Immutable, Alias("platform.LogBatchContainer"), SerializationCallbacks(typeof(Orleans.Runtime.OnDeserializedCallbacks))]
public sealed class LogBatchContainer : IBatchContainer, IOnDeserialized
{
    [Id(0)] public StreamId StreamId { get; init; }
    [Id(1)] public ulong Sequence { get; init; }
    /// <summary>The <see cref="EventCodec.TypeHeader"/> value, null for messages published without it.</summary>
    [Id(2)] public string? TypeName { get; init; }
    [Id(3)] public byte[] Payload { get; init; } = [];
    /// <summary>The provider that read it, whose failure handler hears of an event a subscriber cannot read.</summary>
    [Id(4)] public string Provider { get; init; } = "";

    /// <summary>Set where the container is made, and again where it is deserialized (the subscriber's process).</summary>
    [NonSerialized] private ProviderFailureHandler? _failures;

    internal ProviderFailureHandler? Failures { init => _failures = value; }

    public StreamSequenceToken SequenceToken => new EventSequenceTokenV2((long)Sequence);

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>() =>
        TryRead<T>(out var value) ? [Tuple.Create(value!, SequenceToken)] : [];

    /// <summary>
    /// An event that cannot be read as <typeparamref name="T"/> goes to the failure handler and is skipped: thrown, it
    /// would fail the delivery, which the pulling agent retries for a minute while the stream waits behind it.
    /// </summary>
    private bool TryRead<T>(out T? value)
    {
        try
        {
            return EventCodec.TryDeserialize(TypeName, Payload, out value);
        }
        catch (Exception error) when (_failures is not null && error is JsonException or NotSupportedException)
        {
            _failures.OnUndeserializableEvent(this, typeof(T), error);
            value = default;
            return false;
        }
    }

    // Request context is not carried: it has no place in a NATS message that other clients would understand.
    public bool ImportRequestContext() => false;

    void IOnDeserialized.OnDeserialized(DeserializationContext context) =>
        _failures = context.ServiceProvider.GetKeyedService<ProviderFailureHandler>(Provider);
}
