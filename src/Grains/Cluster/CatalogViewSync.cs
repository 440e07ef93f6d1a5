using Microsoft.Extensions.Logging;
using Platform.Grains.Node;
using Platform.Grains.Streams;

namespace Platform.Grains.Cluster;

/// <summary>
/// Loads this silo's <see cref="CatalogView"/> when a clustered silo becomes active, and checks its version now and
/// then: the catalog sends changes only to the silos active when they happen, so a silo that joins, or that the
/// catalog could not reach for a moment, catches up here.
/// </summary>
internal sealed class CatalogViewSync(CatalogView view, NodeIdentity node, IGrainFactory grains, ILogger<CatalogViewSync> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(10);
    private readonly CancellationTokenSource _stop = new();

    public void Participate(ISiloLifecycle lifecycle)
    {
        if (!node.IsCluster)
            return;
        lifecycle.Subscribe(nameof(CatalogViewSync), ServiceLifecycleStage.Active, OnStartAsync, OnStopAsync);
    }

    private async Task OnStartAsync(CancellationToken cancellationToken)
    {
        await SyncAsync();
        _ = CheckPeriodicallyAsync();
    }

    private Task OnStopAsync(CancellationToken cancellationToken) => _stop.CancelAsync();

    private async Task CheckPeriodicallyAsync()
    {
        using var timer = new PeriodicTimer(CheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                try
                {
                    await SyncAsync();
                }
                catch (Exception ex) when (!_stop.IsCancellationRequested)
                {
                    logger.LogWarning("Could not check the stream catalog: {Reason}", ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SyncAsync()
    {
        if (await grains.GetGrain<IStreamCatalogGrain>(0).Snapshot(view.Version) is { } snapshot)
            view.Load(snapshot);
    }
}
