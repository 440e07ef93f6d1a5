using Platform.Grains.Consumers;
using Platform.Grains.Streams;

namespace Platform.Grains.Client;

/// <summary>Consumer management: what <c>$JS.API.CONSUMER.*</c> offers NATS clients.</summary>
public sealed partial class PlatformStreams
{
    /// <summary>
    /// Creates a consumer, or updates it where nats-server allows the change. A consumer without a name takes its
    /// durable name; one with neither is refused. The consumer is served to NATS clients like one they made.
    /// </summary>
    /// <exception cref="PlatformStreamException">Refused, e.g. no such stream (10059), an invalid name or configuration.</exception>
    public async Task<PlatformConsumerInfo> CreateConsumerAsync(string stream, PlatformConsumerConfig config)
    {
        config = config.WithDefaults();
        if (NameRules.CheckConsumer(config.Name) is { } invalid)
            throw new PlatformStreamException(invalid);
        return Value(await grains.GetGrain<IStreamGrain>(stream).AddConsumer(config));
    }

    /// <summary>The consumer's configuration and state.</summary>
    /// <exception cref="PlatformStreamException">No such consumer (10014) or stream (10059).</exception>
    public async Task<PlatformConsumerInfo> GetConsumerInfoAsync(string stream, string name) =>
        await grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, name)).Info() ?? throw await ConsumerNotFoundAsync(stream);

    /// <summary>The names of the stream's consumers.</summary>
    /// <exception cref="PlatformStreamException">No such stream (10059).</exception>
    public async Task<string[]> ListConsumersAsync(string stream)
    {
        Value(await grains.GetGrain<IStreamGrain>(stream).GetInfo(false, null));
        return await grains.GetGrain<IStreamGrain>(stream).ConsumerNames();
    }

    /// <summary>Deletes a consumer and its state.</summary>
    /// <exception cref="PlatformStreamException">No such consumer (10014) or stream (10059).</exception>
    public async Task DeleteConsumerAsync(string stream, string name)
    {
        if (!await grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, name)).Delete())
            throw await ConsumerNotFoundAsync(stream);
    }

    /// <summary>As nats-server answers for a missing consumer: stream not found when the stream is missing too.</summary>
    private async Task<PlatformStreamException> ConsumerNotFoundAsync(string stream) =>
        new((await grains.GetGrain<IStreamGrain>(stream).GetInfo(false, null)).Error is null ? ConsumerNotFound : ApiError.StreamNotFound);

    private static readonly ApiError ConsumerNotFound = new(404, 10014, "consumer not found");
}
