using Microsoft.Extensions.Logging;
using Orleans.Streams;
using Platform.Grains.Cluster;
using Platform.Grains.Node;
using Platform.Grains.Streams;

namespace Platform.Grains.Streaming;

/// <summary>
/// Gives each queue to the silo that is home to its partition of the namespace's stream, so the pulling agent reads its
/// log where the log is. Alone, a silo takes every queue. Listeners hear again when membership or the catalog
/// changes, since either can move a queue.
/// </summary>
internal sealed class StreamHomeQueueBalancer : QueueBalancerBase, IStreamQueueBalancer
{
    private readonly CatalogView _catalog;
    private readonly CatalogChanges _changes;
    private readonly NodeIdentity _node;
    private LogQueueMapper? _mapper;

    public StreamHomeQueueBalancer(CatalogView catalog, CatalogChanges changes, NodeIdentity node, IServiceProvider services,
        ILogger<StreamHomeQueueBalancer> logger)
        : base(services, logger)
    {
        _catalog = catalog;
        _changes = changes;
        _node = node;
    }

    public override Task Initialize(IStreamQueueMapper queueMapper)
    {
        _mapper = (LogQueueMapper)queueMapper;
        _changes.Set += OnCatalogSet;
        _changes.Removed += OnCatalogRemoved;
        return base.Initialize(queueMapper);
    }

    public override Task Shutdown()
    {
        _changes.Set -= OnCatalogSet;
        _changes.Removed -= OnCatalogRemoved;
        return base.Shutdown();
    }

    public override IEnumerable<QueueId> GetMyQueues()
    {
        var mine = new List<QueueId>();
        foreach (var queue in _mapper!.GetAllQueues())
        {
            var (ns, partition, _) = _mapper.PartitionOf(queue);
            if (!_node.IsCluster || (_catalog.TryGet(ns, out var entry) && entry.HomeOf(partition) == _node.Name))
                mine.Add(queue);
        }
        return mine;
    }

    protected override void OnClusterMembershipChange(HashSet<SiloAddress> activeSilos) => _ = NotifyListeners();

    private void OnCatalogSet(PlatformStreamConfig config) => OnCatalogChanged(config.Name);

    private void OnCatalogRemoved(string stream) => OnCatalogChanged(stream);

    private void OnCatalogChanged(string stream)
    {
        if (_node.IsCluster)
            _ = NotifyListeners();
    }
}
