using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;
using Platform.Grains.Client;

namespace Platform.Grains.Streaming;

/// <summary>
/// The platform provider's failure handler. Events the pulling agent gave up on (after retrying for
/// StreamPullingAgentOptions.MaxEventDeliveryTime) are logged as errors with their stream and sequence. Events that
/// cannot be read as the subscriber's type are reported here at once instead: they are logged, copied to the
/// dead-letter stream when one is configured, and skipped, so the stream does not stall on them. Either way the
/// subscription keeps going and the event stays in the log for replay.
/// </summary>
public sealed class ProviderFailureHandler : IStreamFailureHandler
{
    /// <summary>Headers a dead letter carries besides the original ones.</summary>
    public const string DeadLetterStreamHeader = "Orleans-Dead-Letter-Stream", DeadLetterSequenceHeader = "Orleans-Dead-Letter-Sequence",
        DeadLetterTypeHeader = "Orleans-Dead-Letter-Type", DeadLetterErrorHeader = "Orleans-Dead-Letter-Error";

    private readonly string _provider;
    private readonly PlatformStreamOptions _options;
    private readonly IServiceProvider _services;
    private readonly ProviderStreams _streams;
    private readonly ILogger<ProviderFailureHandler> _logger;

    internal ProviderFailureHandler(string provider, PlatformStreamOptions options, IServiceProvider services, ProviderStreams streams,
        ILogger<ProviderFailureHandler> logger)
    {
        _provider = provider;
        _options = options;
        _services = services;
        _streams = streams;
        _logger = logger;
    }

    internal string Provider => _provider;

    public bool ShouldFaultSubsriptionOnError => false;

    public Task OnDeliveryFailure(GuidId subscriptionId, string streamProviderName, StreamId streamId, StreamSequenceToken? sequenceToken)
    {
        _logger.LogError("Stream provider {Provider}: delivery of {Stream} at sequence {Sequence} to subscription {Subscription} failed after retries",
            streamProviderName, streamId, sequenceToken?.SequenceNumber, subscriptionId);
        return Task.CompletedTask;
    }

    public Task OnSubscriptionFailure(GuidId subscriptionId, string streamProviderName, StreamId streamId, StreamSequenceToken? sequenceToken)
    {
        _logger.LogError("Stream provider {Provider}: subscription {Subscription} to {Stream} failed at sequence {Sequence}",
            streamProviderName, subscriptionId, streamId, sequenceToken?.SequenceNumber);
        return Task.CompletedTask;
    }

    /// <summary>
    /// An event a subscriber of <paramref name="target"/> cannot read (e.g. a NATS client published text that is not
    /// JSON): called in the subscriber's process, once per subscriber that met it. Never throws; the dead letter is
    /// written in the background.
    /// </summary>
    internal void OnUndeserializableEvent(LogBatchContainer batch, Type target, Exception error)
    {
        _logger.LogError(error, "Stream provider {Provider}: the event of {Stream} at sequence {Sequence} cannot be read as {Type}; skipped{DeadLetter}",
            _provider, batch.StreamId, batch.Sequence, target.FullName,
            _options.DeadLetterStream is { } stream ? $", copied to dead-letter stream {stream}" : "");
        if (_options.DeadLetterStream is not null)
            _ = WriteDeadLetterAsync(batch, target, error);
    }

    /// <summary>
    /// The original payload (and Orleans-Type, if it had one) on <c>&lt;dead-letter stream&gt;.&lt;namespace&gt;</c>,
    /// with headers naming where it came from and why it could not be read.
    /// </summary>
    private async Task WriteDeadLetterAsync(LogBatchContainer batch, Type target, Exception error)
    {
        var stream = _options.DeadLetterStream!;
        try
        {
            var ns = batch.StreamId.GetNamespace()!;
            var headers = new Dictionary<string, string>
            {
                [DeadLetterStreamHeader] = LogQueueMapper.SubjectOf(batch.StreamId),
                [DeadLetterSequenceHeader] = batch.Sequence.ToString(),
                [DeadLetterTypeHeader] = EventCodec.TypeName(target),
                // Header values are one line.
                [DeadLetterErrorHeader] = error.Message.ReplaceLineEndings(" "),
            };
            if (batch.TypeName is { } typeName)
                headers[EventCodec.TypeHeader] = typeName;
            await _streams.EnsureAsync(stream);
            await new PlatformStreams(_services.GetRequiredService<IGrainFactory>()).PublishAsync(stream, $"{stream}.{ns}", batch.Payload, headers);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Stream provider {Provider}: could not write the dead letter of {Stream} at sequence {Sequence} to {DeadLetterStream}",
                _provider, batch.StreamId, batch.Sequence, stream);
        }
    }
}
