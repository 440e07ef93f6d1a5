using Orleans.Streams;

namespace Platform.Grains.Streaming;

/// <summary>
/// The queue balancer of a silo that does not host the platform (a user's silo that joined the cluster): it pulls no
/// queue, since each is read on the platform silo that is home to its stream; its grains still produce and subscribe.
/// </summary>
internal sealed class NoQueuesBalancer : IStreamQueueBalancer
{
    public Task Initialize(IStreamQueueMapper queueMapper) => Task.CompletedTask;
    public Task Shutdown() => Task.CompletedTask;
    public IEnumerable<QueueId> GetMyQueues() => [];
    public bool SubscribeToQueueDistributionChangeEvents(IStreamQueueBalanceListener queueBalanceObserver) => true;
    public bool UnSubscribeFromQueueDistributionChangeEvents(IStreamQueueBalanceListener queueBalanceObserver) => true;
}
