using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Streams;
using Platform.Grains.Client;
using Platform.Grains.Streams;

namespace Platform.Grains.Streaming;

/// <summary>
/// The Orleans persistent stream provider over the platform's streams, as a client has it: the adapter (produce =
/// append to the stream) and the queue mapping. Silos read the queues too (<see cref="SiloLogAdapterFactory"/>).
/// </summary>
public class LogAdapterFactory : IQueueAdapterFactory, IQueueAdapter, IQueueAdapterCache
{
    private readonly string _name;
    private readonly IServiceProvider _services;
    private readonly LogQueueMapper _mapper;
    private readonly ProviderStreams _streams;
    private readonly ProviderFailureHandler _failures;
    private readonly ProviderNamespaces _namespaces;

    protected LogAdapterFactory(string name, PlatformStreamOptions options, IServiceProvider services)
    {
        _name = name;
        _services = services;
        _mapper = new LogQueueMapper(name, options.Namespaces, options.QueuesPerNamespace);
        _streams = services.GetRequiredKeyedService<ProviderStreams>(name);
        _failures = services.GetRequiredKeyedService<ProviderFailureHandler>(name);
        _namespaces = services.GetRequiredKeyedService<ProviderNamespaces>(name);
    }

    public static IQueueAdapterFactory Create(IServiceProvider services, string name) =>
        new LogAdapterFactory(name, services.GetRequiredService<IOptionsMonitor<PlatformStreamOptions>>().Get(name), services);

    /// <summary>What both silos and clients register beside the provider: keyed by provider name, so a batch container
    /// deserialized in a subscriber's process finds its provider's failure handler.</summary>
    internal static void AddServices(IServiceCollection services, string name)
    {
        services.AddKeyedSingleton(name, (sp, _) => new ProviderNamespaces(name, sp.GetRequiredService<IOptionsMonitor<PlatformStreamOptions>>().Get(name)));
        services.AddKeyedSingleton(name, (sp, _) => new ProviderStreams(sp, sp.GetRequiredService<IOptionsMonitor<PlatformStreamOptions>>().Get(name),
            sp.GetRequiredKeyedService<ProviderNamespaces>(name)));
        services.AddKeyedSingleton(name, (sp, _) => new ProviderFailureHandler(name,
            sp.GetRequiredService<IOptionsMonitor<PlatformStreamOptions>>().Get(name), sp, sp.GetRequiredKeyedService<ProviderStreams>(name),
            sp.GetRequiredService<ILogger<ProviderFailureHandler>>()));
        services.AddSingleton<IOutgoingGrainCallFilter>(new SubscriptionKeyFilter(name));
    }

    public string Name => _name;
    public bool IsRewindable => true;
    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    // Resolved late: on a silo the grain factory is not available while providers are being constructed.
    private protected IGrainFactory Grains => _services.GetRequiredService<IGrainFactory>();

    public Task<IQueueAdapter> CreateAdapter() => Task.FromResult<IQueueAdapter>(this);
    public IQueueAdapterCache GetQueueAdapterCache() => this;
    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) => Task.FromResult<IStreamFailureHandler>(_failures);

    private protected string ProviderName => _name;
    private protected LogQueueMapper Mapper => _mapper;
    private protected ProviderStreams Streams => _streams;
    private protected ProviderFailureHandler Failures => _failures;

    /// <summary>Clients pull no queues: only silos read them.</summary>
    public virtual IQueueCache CreateQueueCache(QueueId queueId) => throw new NotSupportedException("Platform stream queues are read on silos.");

    public virtual IQueueAdapterReceiver CreateReceiver(QueueId queueId) => throw new NotSupportedException("Platform stream queues are read on silos.");

    /// <summary>Appends the events as one framed batch (one grain call); a refused event fails the whole call.</summary>
    /// <exception cref="ArgumentException">The namespace is not carried by this provider, or the key does not make a valid subject.</exception>
    public async Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        if (token is not null)
            throw new ArgumentException("The platform stream provider assigns sequences itself; producers cannot pass a token.", nameof(token));
        var ns = streamId.GetNamespace()!;
        _namespaces.Check(ns);
        StreamKeyRule.Check(streamId);
        var subject = LogQueueMapper.SubjectOf(streamId);
        await _streams.EnsureAsync(ns);
        var messages = events.Select(e => new OutgoingMessage(subject, EventCodec.Serialize(e),
            new Dictionary<string, string> { [EventCodec.TypeHeader] = EventCodec.TypeName(e?.GetType() ?? typeof(T)) })).ToList();
        var acks = await new PlatformStreams(Grains).PublishAsync(ns, messages);
        foreach (var ack in acks)
            if (ack.Error is { } error)
                throw new PlatformStreamException(error);
    }
}
