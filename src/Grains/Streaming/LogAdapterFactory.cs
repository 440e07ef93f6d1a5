using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Streams;
using Platform.Grains.Client;
using Platform.Grains.Streams;

namespace Platform.Grains.Streaming;

/// <summary>
/// The Orleans persistent stream provider over the platform's stream logs: adapter (produce = append to the stream),
/// receivers (read the stream through <see cref="IStreamGrain.Read"/>), and a log-backed cache whose cursors read the
/// log itself, so a subscription can rewind to any retained sequence (unlike SimpleQueueCache, which forgets what all
/// current cursors have passed).
/// </summary>
public sealed class LogAdapterFactory : IQueueAdapterFactory, IQueueAdapter, IQueueAdapterCache
{
    private readonly string _name;
    private readonly PlatformStreamOptions _options;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory _loggers;
    private readonly LogQueueMapper _mapper;
    private readonly ConcurrentDictionary<string, Task> _created = new(StringComparer.Ordinal);

    public LogAdapterFactory(string name, PlatformStreamOptions options, IServiceProvider services, ILoggerFactory loggers)
    {
        _name = name;
        _options = options;
        _services = services;
        _loggers = loggers;
        _mapper = new LogQueueMapper(name, options.Namespaces);
    }

    public static IQueueAdapterFactory Create(IServiceProvider services, string name) =>
        new LogAdapterFactory(name, services.GetRequiredService<IOptionsMonitor<PlatformStreamOptions>>().Get(name), services,
            services.GetRequiredService<ILoggerFactory>());

    public string Name => _name;
    public bool IsRewindable => true;
    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    // Resolved late: on a silo the grain factory is not available while providers are being constructed.
    private IGrainFactory Grains => _services.GetRequiredService<IGrainFactory>();

    /// <summary>Only silos run receivers and caches, and only they have a stream store.</summary>
    private StreamStore Store => _services.GetService<StreamStore>()
        ?? throw new InvalidOperationException("The platform stream provider's receivers need a StreamStore (a silo with JetStream enabled).");

    public Task<IQueueAdapter> CreateAdapter() => Task.FromResult<IQueueAdapter>(this);
    public IQueueAdapterCache GetQueueAdapterCache() => this;
    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) =>
        Task.FromResult<IStreamFailureHandler>(new LoggingFailureHandler(_loggers.CreateLogger<LoggingFailureHandler>()));

    public IQueueCache CreateQueueCache(QueueId queueId) =>
        new LogQueueCache(_mapper.NamespaceOf(queueId), Store.OpenLogs, _options, TimeProvider.System);

    public IQueueAdapterReceiver CreateReceiver(QueueId queueId)
    {
        var ns = _mapper.NamespaceOf(queueId);
        return new LogReceiver(ns, Grains, this, CheckpointPath(ns), _options.ReadBatchSize, _loggers.CreateLogger<LogReceiver>());
    }

    /// <summary><c>&lt;store&gt;/orleans-streams/&lt;provider&gt;/&lt;namespace&gt;.checkpoint</c>: the last sequence delivered.</summary>
    private string CheckpointPath(string ns) => Path.Combine(Store.StoreDirectory, "orleans-streams", _name, ns + ".checkpoint");

    /// <summary>Appends the events as one framed batch (one grain call); a refused event fails the whole call.</summary>
    /// <exception cref="ArgumentException">The namespace is not carried by this provider, or the key does not make a valid subject.</exception>
    public async Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        if (token is not null)
            throw new ArgumentException("The platform stream provider assigns sequences itself; producers cannot pass a token.", nameof(token));
        var ns = streamId.GetNamespace()!;
        _mapper.GetQueueForStream(streamId); // throws for a namespace the provider does not carry
        var subject = LogQueueMapper.SubjectOf(streamId);
        if (PlatformStreams.InvalidSubject(subject) is { } problem)
            throw new ArgumentException($"Orleans stream key \"{streamId.GetKeyAsString()}\" cannot be carried by the platform stream provider: {problem}.",
                nameof(streamId));
        await EnsureStreamAsync(ns);
        var messages = events.Select(e => new OutgoingMessage(subject, EventCodec.Serialize(e),
            new Dictionary<string, string> { [EventCodec.TypeHeader] = EventCodec.TypeName(e?.GetType() ?? typeof(T)) })).ToList();
        var acks = await new PlatformStreams(Grains).PublishAsync(ns, messages);
        foreach (var ack in acks)
            if (ack.Error is { } error)
                throw new PlatformStreamException(error);
    }

    internal Task EnsureStreamAsync(string ns)
    {
        if (!_options.CreateStreams)
            return Task.CompletedTask;
        var task = _created.GetOrAdd(ns, CreateStreamAsync);
        // A failed attempt is not remembered, so the next produce or receiver start tries again.
        if (task.IsFaulted)
            _created.TryRemove(new KeyValuePair<string, Task>(ns, task));
        return task;
    }

    private async Task CreateStreamAsync(string ns)
    {
        var info = await Grains.GetGrain<IStreamGrain>(ns).GetInfo(false, null);
        if (info.Error is null)
            return;
        var result = await Grains.GetGrain<IStreamCatalogGrain>(0).Create(new StreamConfig { Name = ns, Subjects = [ns + ".>"] }.WithDefaults());
        if (result.Error is { } error)
            throw new PlatformStreamException(error);
    }
}

/// <summary>
/// Reports events the pulling agent gave up on (after retrying for StreamPullingAgentOptions.MaxEventDeliveryTime):
/// an error log line per event with its stream and sequence, so nothing is dropped silently. The subscription keeps
/// going (not faulted); the event stays in the log and can be replayed by resuming at its sequence.
/// </summary>
public sealed class LoggingFailureHandler(ILogger<LoggingFailureHandler> logger) : IStreamFailureHandler
{
    public bool ShouldFaultSubsriptionOnError => false;

    public Task OnDeliveryFailure(GuidId subscriptionId, string streamProviderName, StreamId streamId, StreamSequenceToken? sequenceToken)
    {
        logger.LogError("Stream provider {Provider}: delivery of {Stream} at sequence {Sequence} to subscription {Subscription} failed after retries",
            streamProviderName, streamId, sequenceToken?.SequenceNumber, subscriptionId);
        return Task.CompletedTask;
    }

    public Task OnSubscriptionFailure(GuidId subscriptionId, string streamProviderName, StreamId streamId, StreamSequenceToken? sequenceToken)
    {
        logger.LogError("Stream provider {Provider}: subscription {Subscription} to {Stream} failed at sequence {Sequence}",
            streamProviderName, subscriptionId, streamId, sequenceToken?.SequenceNumber);
        return Task.CompletedTask;
    }
}
