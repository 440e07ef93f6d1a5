using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Platform.Grains.Cluster;
using Platform.Grains.Node;
using Platform.Grains.Streams;

namespace Platform.Grains.Replication;

/// <summary>
/// Tells the catalog when a node this silo saw active is declared dead by Orleans' membership (and no silo of that
/// name is active again), so replicated streams whose primary it was get a new one (<see cref="IStreamCatalogGrain.NodeDown"/>).
/// Every silo does it; the catalog acts once. Only deaths seen happen count: the dead entries a whole-cluster restart
/// leaves in the membership table are not a reason to move a primary before its node is back. A death the catalog could
/// not handle whole (a stream had no whole in-sync replica up) is reported again whenever another node comes up, since
/// that node may hold the copy that was missing, and every <see cref="UnhandledRetryInterval"/> in case a replica did
/// not answer in time.
/// </summary>
internal sealed class ReplicationFailover(NodeIdentity node, IClusterMembershipService membership, IGrainFactory grains, ILogger<ReplicationFailover> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);
    /// <summary>Each failed promotion moves the stream's epoch on (the replicas that answered took it), so not every tick.</summary>
    private static readonly TimeSpan UnhandledRetryInterval = TimeSpan.FromSeconds(30);
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<SiloAddress> _seenActive = [];
    private readonly HashSet<string> _down = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unhandled = new(StringComparer.Ordinal);
    private long _retryUnhandledAt;
    private readonly Lock _lock = new();

    public void Participate(ISiloLifecycle lifecycle)
    {
        if (!node.IsCluster)
            return;
        lifecycle.Subscribe(nameof(ReplicationFailover), ServiceLifecycleStage.Active, OnStartAsync, OnStopAsync);
    }

    private Task OnStartAsync(CancellationToken cancellationToken)
    {
        _ = WatchAsync();
        _ = ReportAsync();
        return Task.CompletedTask;
    }

    private Task OnStopAsync(CancellationToken cancellationToken) => _stop.CancelAsync();

    private async Task WatchAsync()
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(_stop.Token))
                Observe(snapshot);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Observe(ClusterMembershipSnapshot snapshot)
    {
        var active = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in snapshot.Members.Values)
            if (member.Status == SiloStatus.Active)
                active.Add(member.Name);
        lock (_lock)
        {
            foreach (var (address, member) in snapshot.Members)
            {
                if (member.Status == SiloStatus.Active)
                {
                    if (_seenActive.Add(address))
                        RetryUnhandled();
                    _down.Remove(member.Name);
                    _unhandled.Remove(member.Name);
                }
                // Each death once: the dead entry stays in later snapshots.
                else if (member.Status == SiloStatus.Dead && _seenActive.Remove(address) && !active.Contains(member.Name))
                {
                    _down.Add(member.Name);
                    logger.LogInformation("Node {Node} is dead: its replicated streams get new primaries", member.Name);
                }
            }
        }
    }

    private void RetryUnhandled()
    {
        _down.UnionWith(_unhandled);
        _unhandled.Clear();
    }

    /// <summary>Reports each dead node until the catalog has handled it (the catalog may itself be moving off it).</summary>
    private async Task ReportAsync()
    {
        using var timer = new PeriodicTimer(RetryInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                string[] down;
                lock (_lock)
                {
                    if (Stopwatch.GetTimestamp() >= _retryUnhandledAt)
                        RetryUnhandled();
                    down = [.. _down];
                }
                foreach (var name in down)
                {
                    try
                    {
                        bool handled = await grains.GetGrain<IStreamCatalogGrain>(0).NodeDown(name);
                        lock (_lock)
                        {
                            _down.Remove(name);
                            if (!handled && _unhandled.Add(name))
                                _retryUnhandledAt = Stopwatch.GetTimestamp() + (long)(UnhandledRetryInterval.TotalSeconds * Stopwatch.Frequency);
                        }
                    }
                    catch (Exception ex) when (!_stop.IsCancellationRequested)
                    {
                        logger.LogWarning("Could not report node {Node} down to the stream catalog: {Reason}", name, ex.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
