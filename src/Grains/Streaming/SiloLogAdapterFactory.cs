using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using Platform.Grains.Streams;

namespace Platform.Grains.Streaming;

/// <summary>
/// The provider on a silo: besides producing, it reads each queue (a partition of a namespace's stream) with a
/// receiver (<see cref="IStreamGrain.Read"/>) and a log-backed cache whose cursors read the log itself, so a
/// subscription can rewind to any retained sequence (unlike SimpleQueueCache, which forgets what all current cursors
/// have passed).
/// </summary>
public sealed class SiloLogAdapterFactory : LogAdapterFactory
{
    private readonly PlatformStreamOptions _options;
    private readonly StreamStore _store;
    private readonly ILoggerFactory _loggers;

    private SiloLogAdapterFactory(string name, PlatformStreamOptions options, IServiceProvider services)
        : base(name, options, services)
    {
        _options = options;
        _store = services.GetService<StreamStore>()
            ?? throw new InvalidOperationException("The platform stream provider's receivers need a StreamStore (AddPlatformStreaming on the silo).");
        _loggers = services.GetRequiredService<ILoggerFactory>();
    }

    public static new IQueueAdapterFactory Create(IServiceProvider services, string name) =>
        new SiloLogAdapterFactory(name, services.GetRequiredService<IOptionsMonitor<PlatformStreamOptions>>().Get(name), services);

    public override IQueueCache CreateQueueCache(QueueId queueId)
    {
        var queue = Mapper.PartitionOf(queueId);
        return new LogQueueCache(queue.Namespace, queue.Key, _store.OpenLogs, _options, Failures, TimeProvider.System);
    }

    public override IQueueAdapterReceiver CreateReceiver(QueueId queueId)
    {
        var queue = Mapper.PartitionOf(queueId);
        return new LogReceiver(queue, Grains, Streams, Failures, CheckpointPath(queue.Key), _options.ReadBatchSize, _loggers.CreateLogger<LogReceiver>());
    }

    /// <summary><c>&lt;store&gt;/orleans-streams/&lt;provider&gt;/&lt;partition key&gt;.checkpoint</c>: the last sequence delivered from that partition.</summary>
    private string CheckpointPath(string key) => Path.Combine(_store.StoreDirectory, "orleans-streams", ProviderName, key + ".checkpoint");
}
